"""Old and new Vietnamese addresses -> current units (issue #5).

Golden cases are those of docs/address.md ("Golden cases"), including the ones
``vietnamadminunits.convert_address`` gets wrong; every expectation is what the citizen would read.
"""

from __future__ import annotations

import re
import socket
import unicodedata

import pytest

from bot.address import AddressBook, Resolution
from bot.text import fold


@pytest.fixture(scope="module")
def book() -> AddressBook:
    return AddressBook.load()


def _show(r: Resolution | None) -> tuple:
    """What a citizen would read: kind, ward, province, and the split choices."""
    if r is None:
        return (None,)
    ward = r.unit.ward if r.unit else None
    return (r.kind, ward, r.province, tuple(u.ward for u in r.candidates))


TV, TQ, GL, HCM = "Tỉnh Vĩnh Long", "Tỉnh Tuyên Quang", "Tỉnh Gia Lai", "Thành phố Hồ Chí Minh"
SPLIT_YEN_DINH = ("split", None, TQ, ("Xã Minh Ngọc", "Xã Ngọc Đường"))

# (message, (kind, current ward, current province, split candidates))
GOLDEN = [
    # docs/address.md, "Golden cases", as the library converts them
    ("xã Ia Phí, huyện Chư Păh, tỉnh Gia Lai", ("ward", "Xã Ia Phí", GL, ())),
    ("xa ia phi huyen chu pah gia lai", ("ward", "Xã Ia Phí", GL, ())),
    ("phường Nguyễn Trãi, thành phố Hà Giang, tỉnh Hà Giang", ("ward", "Phường Hà Giang 1", TQ, ())),
    ("thị trấn Đồng Văn, huyện Đồng Văn, tỉnh Hà Giang", ("ward", "Xã Đồng Văn", TQ, ())),
    ("phường 1, thành phố Trà Vinh, tỉnh Trà Vinh", ("ward", "Phường Trà Vinh", TV, ())),
    ("thị trấn Cầu Ngang, huyện Cầu Ngang, tỉnh Trà Vinh", ("ward", "Xã Cầu Ngang", TV, ())),
    # split commune: the library silently picks Ngọc Đường, or goes online when a village is given
    ("xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang", SPLIT_YEN_DINH),
    ("thôn Nà Sáng, xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang", SPLIT_YEN_DINH),
    ("yen dinh bac me", SPLIT_YEN_DINH),
    # the library loses the ward, finds nothing, or keeps "X" as a street
    ("P.1 TP Tra Vinh", ("ward", "Phường Trà Vinh", TV, ())),
    ("lung cu", ("ward", "Xã Lũng Cú", TQ, ())),
    ("x. ia phi, h. chu pah, t. gia lai", ("ward", "Xã Ia Phí", GL, ())),
    # in a sentence, without marks, with abbreviations
    ("toi o xa ia phi huyen chu pah gia lai, lam khai sinh o dau", ("ward", "Xã Ia Phí", GL, ())),
    ("xã Ia Phí giờ thuộc đâu?", ("ward", "Xã Ia Phí", GL, ())),
    ("xã mới Ia Phí gồm những xã cũ nào", ("ward", "Xã Ia Phí", GL, ())),
    ("ia phi chu pah", ("ward", "Xã Ia Phí", GL, ())),
    ("p.ben nghe q1 tp hcm", ("ward", "Phường Sài Gòn", HCM, ())),
    ("phuong 1 quan 3 tphcm", ("ward", "Phường Bàn Cờ", HCM, ())),
    ("tt dong van ha giang", ("ward", "Xã Đồng Văn", TQ, ())),
    ("toi o lung cu, lam khai sinh o dau", ("ward", "Xã Lũng Cú", TQ, ())),
    ("Thị trấn Sịa, Huế", ("ward", "Xã Quảng Điền", "Thành phố Huế", ())),
    # the library tells same-name units of one district apart as "Mường Tè (Thị trấn)"
    ("thị trấn Mường Tè, huyện Mường Tè, Lai Châu", ("ward", "Xã Bum Tở", "Tỉnh Lai Châu", ())),
    # "Chi Lăng Bắc" is a commune too: "Bắc Ninh" must not lose its first syllable to it
    ("Xã Chi Lăng, Bắc Ninh", ("ward", "Xã Chi Lăng", "Tỉnh Bắc Ninh", ())),
    # "Đường" and "Lang" end commune names here; they are not the street or village words
    ("Xã Cam Đường, Thành phố Lào Cai, Tỉnh Lào Cai", ("ward", "Phường Cam Đường", "Tỉnh Lào Cai", ())),
    # marks decide between two communes of one district; without marks, ask (below)
    ("Xã Nga Thanh, Huyện Nga Sơn, Tỉnh Thanh Hóa", ("ward", "Xã Nga Sơn", "Tỉnh Thanh Hóa", ())),
    ("Xã Nga Thành, Huyện Nga Sơn, Tỉnh Thanh Hóa", ("ward", "Xã Hồ Vương", "Tỉnh Thanh Hóa", ())),
    ("xa nga thanh huyen nga son thanh hoa", ("province", None, "Tỉnh Thanh Hóa", ())),
    # "cu" is a name's first syllable here (Cư Prao), not "cũ"
    ("xa cu prao", ("ward", "Xã Cư Prao", "Tỉnh Đắk Lắk", ())),
    # new names resolve as themselves
    ("xã Đồng Văn, Tuyên Quang", ("ward", "Xã Đồng Văn", TQ, ())),
    ("xa lung cu tuyen quang", ("ward", "Xã Lũng Cú", TQ, ())),
    ("phuong pleiku", ("ward", "Phường Pleiku", GL, ())),
    # old districts that became one đặc khu
    ("huyen con dao", ("ward", "Đặc khu Côn Đảo", HCM, ())),
    ("ly son quang ngai", ("ward", "Đặc khu Lý Sơn", "Tỉnh Quảng Ngãi", ())),
    # only a province, or a district that no longer exists: say what it is now, ask the commune
    ("Trà Vinh bây giờ thuộc tỉnh nào", ("province", None, TV, ())),
    ("ha giang", ("province", None, TQ, ())),
    ("gia lai", ("province", None, GL, ())),
    ("binh dinh", ("province", None, GL, ())),
    ("Hoà Bình", ("province", None, "Tỉnh Phú Thọ", ())),
    ("sai gon", ("province", None, HCM, ())),
    ("o hue", ("province", None, "Thành phố Huế", ())),
    ("huyện Chư Păh, Gia Lai", ("province", None, GL, ())),
    ("Trà Vinh nay là Vĩnh Long", ("province", None, TV, ())),  # not "Phường Trà Vinh"
    # the name fits several units of one province: ask which
    ("phuong 1 tra vinh", ("province", None, TV, ())),
    ("xa tan thanh long an", ("province", None, "Tỉnh Tây Ninh", ())),
    # a commune and a province that do not go together: no unit, only the province
    ("xã Ia Phí, tỉnh Hà Giang", ("province", None, TQ, ())),
    # homonyms in several provinces, or two places: never guessed
    ("phuong 1", ("unknown", None, None, ())),
    ("xa yen dinh", ("unknown", None, None, ())),
    ("xa tan thanh", ("unknown", None, None, ())),
    ("toi o ha giang nhung lam viec o ha noi", ("unknown", None, None, ())),
    ("ha noi, ho chi minh", ("unknown", None, None, ())),
]


@pytest.mark.parametrize("text,expected", GOLDEN, ids=[t for t, _ in GOLDEN])
def test_golden(book, text, expected):
    assert _show(book.find(text)) == expected


DETAILS = [
    # (message, said, old_province, old_district, is_old)
    (
        "xa ia phi huyen chu pah gia lai",
        "xã Ia Phí, huyện Chư Păh, tỉnh Gia Lai",
        "Gia Lai",
        "huyện Chư Păh",
        True,
    ),
    ("P.1 TP Tra Vinh", "phường 1, thành phố Trà Vinh, tỉnh Trà Vinh", None, "thành phố Trà Vinh", True),
    ("Trà Vinh bây giờ thuộc tỉnh nào", "tỉnh Trà Vinh", "Trà Vinh", None, True),
    ("ha giang", "tỉnh Hà Giang", "Hà Giang", None, True),
    ("gia lai", "tỉnh Gia Lai", "Gia Lai", None, False),  # kept its name, absorbed Bình Định
    ("ha noi", "thành phố Hà Nội", None, None, False),  # unchanged
    ("xã Đồng Văn, Tuyên Quang", "xã Đồng Văn, tỉnh Tuyên Quang", None, None, False),
    ("huyện Chư Păh, Gia Lai", "huyện Chư Păh, tỉnh Gia Lai", "Gia Lai", "huyện Chư Păh", True),
    (
        "xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang",
        "xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang",
        "Hà Giang",
        "huyện Bắc Mê",
        True,
    ),
    ("phuong 1", "phường 1", None, None, False),
]


@pytest.mark.parametrize("text,said,old_province,old_district,is_old", DETAILS, ids=[d[0] for d in DETAILS])
def test_details(book, text, said, old_province, old_district, is_old):
    r = book.find(text)
    assert (r.said, r.old_province, r.old_district, r.is_old) == (said, old_province, old_district, is_old)


def test_ambiguity_lists_the_choices(book):
    r = book.find("phuong 1 tra vinh")
    assert r.matches == (
        "phường 1, thành phố Trà Vinh, tỉnh Trà Vinh",
        "phường 1, thị xã Duyên Hải, tỉnh Trà Vinh",
    )
    assert r.unit is None and not r.candidates


def test_split_unit_codes(book):
    r = book.find("xa yen dinh huyen bac me tinh ha giang")
    assert {(u.ward_code, u.province_code) for u in r.candidates} == {("00700", "08"), ("00994", "08")}
    assert r.unit is None


def test_ward_unit_codes(book):
    r = book.find("xã Ia Phí, huyện Chư Păh, tỉnh Gia Lai")
    assert (r.unit.ward_code, r.unit.province_code) == ("23749", "52")


NO_ADDRESS = [
    "lam giay khai sinh can gi",
    "le phi bao nhieu",
    "dk thuong tru o dau",
    "ket hon can giay to gi",
    "cccd cho tre em",
    "bhyt cho tre duoi 6 tuoi",
    "lam o dau",
    "làm ở đâu",
    "đến chỗ nào làm ạ",
    "lam the nao a",
    "chủ nhà",
    "sinh ở nhà",
    "ad ơi",
    "tự tra",
    "công an xã",
    "lam cccd o cong an xa nao cung dc a",
    "cho mình hỏi hồ sơ làm giấy chứng tử cần có gì",
    "mình ở thôn xa, đường xá khó đi",
    "o xa bien gioi lam thuong tru mat bao nhieu tien",
    "con tôi sinh được 2 tháng rồi, khai sinh có bị quá hạn không",
    "thuong tru o nha nguoi than thi co can chu ho dong y ko",
    "dk thuong chu cho con can giay j",
    "nop ho so o trung tam phuc vu hanh chinh cong",
    "an toan khong",
    "xin chao",
    "",
]


@pytest.mark.parametrize("text", NO_ADDRESS)
def test_no_address(book, text):
    assert book.find(text) is None


def test_offline(book, monkeypatch):
    """Split communes and street-bearing addresses never open a connection, ours or the library's."""

    def refuse(*args, **kwargs):
        raise OSError("network switched off for this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for text in (
        "thôn Nà Sáng, xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang",
        "so nha 12 duong Nguyen Trai, phuong Nguyen Trai, tp Ha Giang, Ha Giang",
        "ấp Phú Hòa, xã Yên Định, huyện Bắc Mê, Hà Giang",
    ):
        assert book.find(text) is not None
    assert _show(book.find("thôn Nà Sáng, xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang")) == SPLIT_YEN_DINH

    # the guard also holds for anyone calling the library directly: its geocoder now returns
    # None, so it falls back to its (silent) default instead of raising GeocoderServiceError
    from vietnamadminunits import convert_address

    unit = convert_address("thôn Nà Sáng, xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang")
    assert unit.province == TQ


CURRENT_PROVINCE = [
    ("tra vinh", ("Tỉnh Vĩnh Long", True)),
    ("Tỉnh Hà Giang", ("Tỉnh Tuyên Quang", True)),
    ("gia lai", ("Tỉnh Gia Lai", True)),
    ("vinh long", ("Tỉnh Vĩnh Long", True)),
    ("ha noi", ("Thành phố Hà Nội", False)),
    ("tp hcm", ("Thành phố Hồ Chí Minh", True)),
    ("Đắk Lắk", ("Tỉnh Đắk Lắk", True)),
    ("xyz", None),
    ("ha giang va ha noi", None),
]


@pytest.mark.parametrize("name,expected", CURRENT_PROVINCE)
def test_current_province(book, name, expected):
    assert book.current_province(name) == expected


def test_province_sources(book):
    assert book.province_sources("gia lai") == ("Tỉnh Bình Định", "Tỉnh Gia Lai")
    assert book.province_sources("tra vinh") == ("Tỉnh Bến Tre", "Tỉnh Trà Vinh", "Tỉnh Vĩnh Long")


SOURCES = [
    (
        ("ia phi", None),
        (
            "xã Ia Phí, huyện Chư Păh, tỉnh Gia Lai",
            "xã Ia Ka, huyện Chư Păh, tỉnh Gia Lai",
            "xã Ia Nhin, huyện Chư Păh, tỉnh Gia Lai",
        ),
    ),
    (
        ("Phường Hà Giang 1", "Tuyên Quang"),
        (
            "phường Nguyễn Trãi, thành phố Hà Giang, tỉnh Hà Giang",
            "xã Phương Độ, thành phố Hà Giang, tỉnh Hà Giang",
            "xã Phương Thiện, thành phố Hà Giang, tỉnh Hà Giang",
            "phường Quang Trung, thành phố Hà Giang, tỉnh Hà Giang (một phần)",
        ),
    ),
    (
        ("xa ngoc duong", None),
        (
            "xã Ngọc Đường, thành phố Hà Giang, tỉnh Hà Giang",
            "xã Yên Định, huyện Bắc Mê, tỉnh Hà Giang (một phần)",
        ),
    ),
    (("yen dinh", None), ()),  # two current Yên Định: ask the province first
    (
        ("yen dinh", "bac ninh"),
        ("xã Cẩm Đàn, huyện Sơn Động, tỉnh Bắc Giang", "xã Yên Định, huyện Sơn Động, tỉnh Bắc Giang"),
    ),
    (("khong co xa nay", None), ()),
]


@pytest.mark.parametrize("query,expected", SOURCES, ids=[q[0] for q, _ in SOURCES])
def test_sources(book, query, expected):
    assert book.sources(*query) == expected


def test_units(book):
    assert [u.province for u in book.units("yen dinh")] == ["Tỉnh Bắc Ninh", "Tỉnh Thanh Hóa"]


def test_data_shape(book):
    gaz = book.gazetteer
    assert len(gaz.new_provinces) == 34 and len(gaz.new_wards) == 3321
    assert len(gaz.old_provinces) == 63
    assert sum(divided for _, divided in gaz.conversion.values()) == 471
    names = [w.name for w in gaz.new_wards.values()] + [w.name for w in gaz.old_wards.values() if w.key]
    assert all(unicodedata.is_normalized("NFC", n) for n in names)
    # one tone style throughout ("Hòa", not "Hoà"): what the citizen reads never mixes them
    new_style = re.compile(r"(?<![qQ])(o[àáảãạ]|o[èéẻẽẹ]|u[ỳýỷỹỵ])\b")
    assert not [n for n in names if new_style.search(n)]


def test_agrees_with_library(book):
    """On canonical "ward, district, province" strings our tables give the library's own answer."""
    from vietnamadminunits import convert_address

    gaz = book.gazetteer
    undivided = [k for k, (_, divided) in gaz.conversion.items() if not divided and k[2]]
    for key in undivided[::97]:
        ward = gaz.old_wards[key]
        district, province = gaz.old_districts[key[:2]], gaz.old_provinces[key[0]]
        text = f"{ward.name}, {district.name}, {province.name}"
        assert book.find(text).unit.ward_code == convert_address(text).ward_code, text


def test_never_a_wrong_unit(book):
    """A sample of old communes, typed without marks: the right unit, all split choices, or a
    question; never another unit."""
    gaz = book.gazetteer
    for (p, d, w), ward in list(gaz.old_wards.items())[::23]:
        if not w:
            continue
        news, divided = gaz.conversion[p, d, w]
        text = fold(f"{ward.name} {gaz.old_districts[p, d].name} {gaz.old_provinces[p].short}").lower()
        r = book.find(text)
        assert r is not None, text
        if r.kind == "ward":
            assert not divided and r.unit.ward_code == news[0].code, text
        elif r.kind == "split":
            assert divided and {u.ward_code for u in r.candidates} == {n.code for n in news}, text


def test_every_split_commune_asks(book):
    gaz = book.gazetteer
    for (p, d, w), (news, divided) in gaz.conversion.items():
        if not divided:
            continue
        ward = gaz.old_wards[p, d, w]
        r = book.find(f"{ward.name}, {gaz.old_districts[p, d].name}, {gaz.old_provinces[p].name}")
        assert r.kind == "split" and len(r.candidates) >= 2, ward.name
        assert {u.ward_code for u in r.candidates} == {n.code for n in news}


@pytest.mark.parametrize("code, expected", [("23749", ("Xã Ia Phí", "Tỉnh Gia Lai")), ("no-such-code", None)])
def test_unit_by_code(book, code, expected):
    unit = book.unit(code)
    assert (unit.ward, unit.province) == expected if expected else unit is None
