// Progressive enhancement only: the site works the same without this file.
// Keep shared search URLs short: htmx would send empty parameters ("any" choices).
document.addEventListener("htmx:configRequest", function (event) {
  var params = event.detail.parameters;
  if (params instanceof FormData) {
    var empty = [];
    params.forEach(function (value, key) { if (value === "") { empty.push(key); } });
    empty.forEach(function (key) { params.delete(key); });
  } else {
    Object.keys(params).forEach(function (key) { if (params[key] === "") { delete params[key]; } });
  }
});
