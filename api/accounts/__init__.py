"""Sign-in, user accounts and API keys: the routes and services that manage who may call, and write the
audit trail of it. Who is calling, what they may do and what they reach is api/auth (principal, roles,
reach), which this package stands on and which never imports it."""
