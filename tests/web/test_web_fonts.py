"""Pages in Korean read on a workstation without a Hangul font: the app serves its own."""
from biobank.core.fonts import FONT_DIR


def test_the_korean_font_is_served_to_anyone(client):
    answer = client.get("/fonts/BiobankGothicKR-Regular.ttf")
    assert answer.status_code == 200 and answer.mimetype == "font/ttf"
    assert answer.data == (FONT_DIR / "BiobankGothicKR-Regular.ttf").read_bytes()
    assert "max-age" in answer.headers.get("Cache-Control", "")


def test_nothing_else_from_the_font_folder(client):
    for name in ("NotoSans-Regular.ttf", "README.md", "..%2Fconfig.py", "OFL-BiobankGothicKR.txt"):
        assert client.get(f"/fonts/{name}").status_code == 404, name


def test_the_stylesheet_asks_for_it_for_hangul_only(client):
    css = client.get("/static/app.css").get_data(as_text=True)
    assert 'url("../fonts/BiobankGothicKR-Regular.ttf")' in css and "U+AC00-D7A3" in css
