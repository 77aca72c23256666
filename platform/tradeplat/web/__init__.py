"""What every service's FastAPI app shares: runtime, middleware, handlers, probes."""
