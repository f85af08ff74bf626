"""HTTP routers, one per resource; `crisis_mas.service.api` mounts them."""
