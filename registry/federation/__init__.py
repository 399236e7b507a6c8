"""Federation: Communs instances exchange what they originate, signed and incremental.

* :mod:`registry.federation.identity`: this instance's Ed25519 key pair, canonical JSON,
  signing and verification of feed entries;
* :mod:`registry.federation.feed`: the feed of changes, built from the change log;
* :mod:`registry.federation.apply`: applying a verified page of a peer's feed, with
  provenance and authority rules;
* :mod:`registry.federation.dcat`: the catalogue as DCAT-AP JSON-LD.

The pull itself (HTTP, retries, cursors) is :mod:`crawlers.federation`.
"""

#: Version of the feed protocol, announced by ``/.well-known/communs``.
PROTOCOL_VERSION = 1
