"""The local development stack: find or start Redis and the broker, then run the product."""
