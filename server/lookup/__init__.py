"""Online lookups: request → cached plan → one pipelined Redis round trip → Feast's JSON."""
