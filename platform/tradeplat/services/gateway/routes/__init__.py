"""Gateway routers, one per resource."""
