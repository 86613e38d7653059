"""Idempotent retries: a POST sent again with the same `Idempotency-Key` gets the first answer back.

store.py keeps the keys and their answers; middleware.py is the ASGI middleware.

A pure ASGI middleware (so it sees the raw body and the finished response, and never buffers streams it
should not). Keys live in the database, so a retry that lands on another worker is still recognised.

- Keyed on (the caller, the key): the caller is the principal (`user:<id>` or `api_key:<id>`), never the
  credential's bytes, so a user who signs in again and retries with a fresh token gets the first answer
  back. The caller is authenticated, and must still be allowed in (an active account at its token epoch,
  staff who have not left; a key neither revoked, expired nor unconfirmed), before anything is claimed or
  replayed: otherwise the request passes through untouched and the app answers its 401. A request without
  a credential passes through too (the only anonymous POST, sign-in, answers with a token never stored).
- The request is fingerprinted (SHA-256 of method, path, query and the body, JSON in canonical form): the
  same key with a different request is a 422 `idempotency_key_reused`; the same JSON with its keys in
  another order or spaced differently is the same request.
- Only 2xx answers are stored: a failed request releases its key at once, so a retry runs again (a bulk
  sync that failed part way finds what it had saved, unchanged). An answer marked `Cache-Control: no-store`
  (one that reveals a secret once) is not stored either.
- A retry while the first request is still running is a 409. The running request renews its claim; a claim
  nobody renews (a worker that died, or a release the database was too broken to write) is taken over
  after `idempotency_lock_seconds`.
"""
