"""The demo organisation's name, its domain, its sign-ins and the names its invented people are given."""

from __future__ import annotations

from api.auth.roles import Role

ORG = "Riverbank Music"
DOMAIN = "riverbankmusic.org.uk"
SEED = 20_240_917
SELF_CONSENT_AGE = 18

# Printed by `esafety seed-demo`; demo sign-ins only, never for a real deployment.
DEMO_ACCOUNTS: tuple[tuple[Role, str, str], ...] = (
    (Role.coordinator, f"nadia.okafor@{DOMAIN}", "riverbank-coordinator-demo"),
    (Role.staff, f"tom.hallett@{DOMAIN}", "riverbank-staff-demo"),
    (Role.trustee, f"owen.baptiste@{DOMAIN}", "riverbank-trustee-demo"),
)

FIRST_NAMES = (
    "Aaliyah",
    "Ben",
    "Caitlin",
    "Dev",
    "Elif",
    "Finn",
    "Gabriela",
    "Harvey",
    "Imogen",
    "Jayden",
    "Kiera",
    "Lewis",
    "Maisie",
    "Nico",
    "Orla",
    "Praveen",
    "Quinn",
    "Rosa",
    "Sami",
    "Tia",
    "Umar",
    "Violet",
    "Wiktor",
    "Xanthe",
    "Yusuf",
    "Zara",
    "Alfie",
    "Bethan",
    "Cormac",
    "Daisy",
    "Ezra",
    "Freya",
    "Kofi",
    "Lena",
    "Mateo",
    "Niamh",
    "Ollie",
    "Poppy",
    "Reuben",
    "Sienna",
)
LAST_NAMES = (
    "Ashworth",
    "Bexley",
    "Carrow",
    "Dunmore",
    "Ellison",
    "Fairbrook",
    "Garside",
    "Holloway",
    "Ivel",
    "Jessop",
    "Kettering",
    "Lowther",
    "Marlow",
    "Newbold",
    "Ormerod",
    "Pennick",
    "Quarrie",
    "Rudd",
    "Stainton",
    "Thwaite",
    "Upfield",
    "Varley",
    "Wragg",
    "Yeadon",
)
CARER_FIRST_NAMES = (
    "Alison",
    "Darren",
    "Fatima",
    "Gareth",
    "Helen",
    "Joanne",
    "Marcus",
    "Nkechi",
    "Paul",
    "Sunita",
)
