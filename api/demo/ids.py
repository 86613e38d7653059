"""The ids of the demo's key records, which the spec's examples use so that Swagger UI's "Try it out" works
against `make run`'s data as it stands.

The demo draws every id from its fixed random seed (api/demo/__init__.py), so a load gives these same ids on
any machine and any day; tests/test_spec_examples.py checks that each is there after `esafety seed-demo`, and
that every id in the spec's examples is one of them. (The records' dates follow the day the demo is loaded.)
The controls register is not here: a migration makes its records, with ids of their own in each database.
"""

from __future__ import annotations

import uuid

# Groups.
YOUNG_PRODUCERS = uuid.UUID("e8f2448c-e573-4518-9a53-4dfd9a4c20fc")  # WhatsApp, ages 16 to 19, 3 years old
BEAT_LAB = uuid.UUID("83ee50c5-f38f-44f4-99b9-822eb2c018d1")  # Discord; its member list awaits answers
# Staff.
NADIA_OKAFOR = uuid.UUID("f189dba4-de79-4620-89dd-c2f808683ba1")  # the e-safety coordinator
TOM_HALLETT = uuid.UUID("30d74e8d-46e1-47f2-abf4-1e5bee592529")  # music leader, admin of Young Producers
PRIYA_RAMAN = uuid.UUID("db515799-a6c3-4831-b689-0ed547403508")  # music leader (production), sessional
CALLUM_REID = uuid.UUID("a1636e83-711b-4de8-b849-85288ffbc2b5")  # youth worker, admin, no sign-in of his own
# Young people.
LENA_JESSOP = uuid.UUID("bb6bbc4f-db9a-45ae-b169-24a562179a1f")  # in Young Producers
VIOLET_WRAGG = uuid.UUID("5e4456e6-aede-4a2e-9eb8-70aced3466f6")  # in the showcase photo incident
YUSUF_ELLISON = uuid.UUID("4ab4661c-0678-4eb0-998b-95bc7439bab9")  # in Beat Lab, not yet on its Discord list
JAYDEN_CARROW = uuid.UUID("90d7e899-087d-47c1-b4f2-7db1799536db")  # in the Youth Band, not in Young Producers
# Other records.
LENA_IN_YOUNG_PRODUCERS = uuid.UUID("8ee738d5-db88-4b57-b535-68245b50a2ff")  # a membership
REUBEN_IMAGES = uuid.UUID("afcf7d50-6f87-4b26-9dc8-76fb11e08019")  # an image-use consent, in force
SHOWCASE_PHOTO_INCIDENT = uuid.UUID("0fea1387-a368-45f2-8af1-ee31803f8963")  # high, investigating
TOM_HALLETT_ACCOUNT = uuid.UUID("d0139ab2-697e-4887-9f0c-2ee55f24d76d")  # the demo staff sign-in
PRIYA_DISCORD_HANDLE = uuid.UUID("c7b07937-bdb0-4154-993e-e236555702b0")  # a platform identity
BEAT_LAB_ROSTER = uuid.UUID("9ab14200-78cd-408d-8b64-2a98144eaf45")
BEAT_LAB_UNKNOWN_ENTRY = uuid.UUID("eb6e4db7-6a3b-46e4-86a9-16532a255111")  # matches nobody: xX_beats_Xx
SOUNDTRAP = uuid.UUID("a3066c92-ed95-44f1-a2d5-26c14295738d")  # in the technology register
CRM_SYNC_KEY = uuid.UUID("1754d0c0-371f-4a40-b501-bfe9a5ac17af")  # the CRM's API key (its secret unknown)
CRM_WEBHOOK = uuid.UUID("f87e087b-1fac-46d8-955a-8e89909f1ab8")  # the CRM's webhook endpoint
TOM_INSTAGRAM_CLAIM = uuid.UUID("05727dbf-5e01-4ff3-a62a-6fcfa021cdc9")  # his own claim, not yet verified
VENUE_PHOTO_ENTRY = uuid.UUID("683ad6b2-3fe4-466f-895f-46b05f8704b1")  # the showcase incident's chronology
CRM_TEST_DELIVERY = uuid.UUID("587dfe34-9ef3-4fe8-95fd-2322a34c5cef")  # a delivered webhook.test

ALL = {name: value for name, value in globals().items() if isinstance(value, uuid.UUID)}
