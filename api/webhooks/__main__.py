"""`python -m api.webhooks deliver-webhooks` (the same as `esafety deliver-webhooks`)."""

from api.webhooks.worker import main

raise SystemExit(main())
