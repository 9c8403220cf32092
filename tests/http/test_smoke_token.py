import jwt


def test_client_credentials_token_verifies_against_jwks(http, service_client):
    response = http.post("/token", data={"grant_type": "client_credentials"}, auth=service_client.basic)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert response.headers["cache-control"] == "no-store"
    jwk = http.get("/jwks.json").json()["keys"][0]
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["kid"] == jwk["kid"]
    key = jwt.PyJWK(jwk).key
    claims = jwt.decode(body["access_token"], key, algorithms=["ES256"], audience="https://api.example", issuer="http://localhost:8000")
    assert claims["sub"] == service_client.client_id
    assert claims["scope"] == "read"


def test_password_then_refresh(http, app_client, alice):
    r = http.post("/token", data={"grant_type": "password", "username": "alice", "password": "correct horse battery"}, auth=app_client.basic)
    assert r.status_code == 200, r.text
    first = r.json()["refresh_token"]
    r2 = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": first}, auth=app_client.basic)
    assert r2.status_code == 200, r2.text
    r3 = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": first}, auth=app_client.basic)
    assert r3.status_code == 400 and r3.json()["error"] == "invalid_grant"
    r4 = http.post("/token", data={"grant_type": "refresh_token", "refresh_token": r2.json()["refresh_token"]}, auth=app_client.basic)
    assert r4.status_code == 400 and r4.json()["error"] == "invalid_grant"
