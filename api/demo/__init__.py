"""The demo organisation: Riverbank Music, a fictional youth music charity, so a newcomer sees real results.

Everything is invented (names, addresses, phone numbers from the ranges set aside for fiction) and dated
relative to the day it is loaded, so the picture stays meaningful: one group in good order, one at risk (only
a warning: an admin's e-safety training has lapsed) and four that break the policy in different ways. A fixed
random seed makes every load the same, ids included.

Written directly with the models, in one transaction, with one audit event saying the demo was loaded.
names.py holds the organisation and its people's names, builder.py the record builder, seed.py `seed` and
`sign_ins`, later.py the records added after every other one (so the ids before them stay as they were).
"""

from api.demo.names import DEMO_ACCOUNTS as DEMO_ACCOUNTS
from api.demo.names import DOMAIN as DOMAIN
from api.demo.names import ORG as ORG
from api.demo.seed import seed as seed
from api.demo.seed import sign_ins as sign_ins
