"""Every page links the app's own icon, and /favicon.ico answers (browsers ask for it on every page)."""


def test_favicon_is_served_and_linked(client, make, login):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    login(make.user("researcher"))
    assert '<link rel="icon" href="/static/favicon.ico"' in client.get("/catalogue").get_data(as_text=True)
