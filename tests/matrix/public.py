from tests.matrix.roles import OPEN

ROUTES = {
    ("GET", "/health"): OPEN,
    ("GET", "/ready"): OPEN,
    ("GET", "/api/v1/problems"): OPEN,
    ("GET", "/api/v1/problems/{code}"): OPEN,
    ("GET", "/openapi.json"): OPEN,
    ("GET", "/docs"): OPEN,
    ("GET", "/"): OPEN,
    ("GET", "/swagger/swagger-ui-bundle.js"): OPEN,
    ("GET", "/swagger/swagger-ui.css"): OPEN,
    ("GET", "/swagger/favicon-32x32.png"): OPEN,
}
