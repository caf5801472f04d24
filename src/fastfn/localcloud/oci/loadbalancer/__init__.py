"""Local Load Balancer: backend sets, backends, health checks and a real HTTP listener."""
