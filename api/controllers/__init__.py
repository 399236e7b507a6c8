"""API controllers, one module per resource."""
