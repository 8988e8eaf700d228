"""The tokenizer's segmentation: accented, unaccented and abbreviated input agree."""

from __future__ import annotations

import pytest

from bot.nlu.segmenter import Segmenter, compounds_from_words

COMPOUNDS = compounds_from_words(["đăng ký", "khai sinh", "giấy tờ", "lệ phí", "bao nhiêu",
                                  "thường trú", "bảo hiểm y tế", "trẻ em"])

# (typed text, token texts as spans of the input, canonical lemmas)
CASES = [
    ("Đăng ký khai sinh cần giấy tờ gì",
     ["Đăng ký", "khai sinh", "cần", "giấy tờ", "gì"],
     ["dang_ky", "khai_sinh", "can", "giay_to", "gi"]),
    ("dang ky khai sinh can giay to gi",
     ["dang ky", "khai sinh", "can", "giay to", "gi"],
     ["dang_ky", "khai_sinh", "can", "giay_to", "gi"]),
    ("dk ks can j", ["dk", "ks", "can", "j"], ["dang_ky", "khai_sinh", "can", "gi"]),
    ("DANG KY THUONG TRU", ["DANG KY", "THUONG TRU"], ["dang_ky", "thuong_tru"]),
    ("le phi bhyt cho tre em bn", ["le phi", "bhyt", "cho", "tre em", "bn"],
     ["le_phi", "bao_hiem_y_te", "cho", "tre_em", "bao_nhieu"]),
    ("lam khai xinh ko ad", ["lam", "khai xinh", "ko", "ad"],
     ["lam", "khai_sinh", "khong", "admin"]),
    ("thuong chu cho be", ["thuong chu", "cho", "be"], ["thuong_tru", "cho", "be"]),
    # "ny" is "người yêu" in chat ("ad có ny chưa": small talk, not "có" = yes)
    ("bot co ny chua", ["bot", "co", "ny", "chua"], ["bot", "co", "nguoi_yeu", "chua"]),
    # "ng" is "người" in chat ("kết hôn với ng Lào")
    ("ket hon voi ng lao", ["ket", "hon", "voi", "ng", "lao"], ["ket", "hon", "voi", "nguoi", "lao"]),
    ("chọn 2", ["chọn", "2"], ["chon", "2"]),
    # l typed as n in northern speech: "nại" is "lại", the province Đồng Nai stays itself
    ("dang ky nai", ["dang ky", "nai"], ["dang_ky", "lai"]),
    ("o Dong Nai", ["o", "Dong Nai"], ["o", "dong_nai"]),
    # "gì" typed fast as "ghi" at the end of a clause; "ghi sai" is to write
    ("can mang ghi, giay", ["can", "mang", "ghi", "giay"], ["can", "mang", "gi", "giay"]),
    ("mang theo nhung ghi z", ["mang", "theo", "nhung", "ghi", "z"],
     ["mang", "theo", "nhung", "gi", "vay"]),
    ("ghi sai ten", ["ghi", "sai", "ten"], ["ghi", "sai", "ten"]),
    # "hông" (không) ends a question after "sổ"; "sổ hồng" going on, or accented, is the certificate
    ("xa con luu so hong, gio", ["xa", "con", "luu", "so", "hong", "gio"],
     ["xa", "con", "luu", "so", "khong", "gio"]),
    ("so hong dung ten ai", ["so hong", "dung", "ten", "ai"], ["so_do", "dung", "ten", "ai"]),
    ("có sổ hồng", ["có", "sổ hồng"], ["co", "so_do"]),
    ("so hong", ["so hong"], ["so_do"]),
    ("", [], []),
    ("🙂🙂", [], []),
]


@pytest.mark.parametrize("text,tokens,lemmas", CASES)
def test_segment(text, tokens, lemmas):
    words = Segmenter(COMPOUNDS).segment(text)
    assert [text[w.start:w.end] for w in words] == tokens
    assert [w.lemma for w in words] == lemmas


def test_decomposed_input_gives_the_same_lemmas():
    import unicodedata

    text = unicodedata.normalize("NFD", "Đăng ký khai sinh")
    assert [w.lemma for w in Segmenter(COMPOUNDS).segment(text)] == ["dang_ky", "khai_sinh"]


def test_compounds_keep_only_multi_syllable_words():
    assert compounds_from_words(["khai sinh", "gì", "Ia Phí", "6 tuổi"]) == {
        ("khai", "sinh"), ("ia", "phi"), ("6", "tuoi")}


def test_a_procedure_name_is_never_swallowed_by_a_folded_compound():
    # "hơn làm" folds to "hon lam"; a learnt compound "ket hon lam" must not hide "ket hon"
    segmenter = Segmenter({("ket", "hon", "lam"), ("hon", "lam")}, fixed={("ket", "hon")})
    words = segmenter.segment("ket hon lam online duoc ko")
    assert [w.lemma for w in words][:2] == ["ket_hon", "lam"]
    words = Segmenter({("muon", "ket")}, fixed={("ket", "hon")}).segment("toi muon ket hon")
    assert [w.lemma for w in words] == ["toi", "muon", "ket_hon"]


def test_no_word_reaches_over_a_clause_break():
    # the event "chứng thực photo" is no word of "giấy có chứng thực, photo công chứng ở phường"
    segmenter = Segmenter({("cong", "chung")}, fixed={("chung", "thuc", "photo"), ("chung", "thuc")})
    words = segmenter.segment("giay co chung thuc, photo cong chung o phuong")
    assert [w.lemma for w in words] == ["giay", "co", "chung_thuc", "photo", "cong_chung", "o", "phuong"]
    assert [w.lemma for w in segmenter.segment("chung thuc photo o dau")][0] == "chung_thuc_photo"


def test_an_abbreviated_name_stays_a_name():
    segmenter = Segmenter({("khai", "tu", "lam")}, fixed={("khai", "tu")})
    assert [w.lemma for w in segmenter.segment("kt lam o dau")][:2] == ["khai_tu", "lam"]


# (typed text, lemmas): a slip of the keyboard inside a procedure's name is read as the name when
# exactly one syllable of that name fits beside its neighbour; other words stay as typed
SLIPS = [
    ("gia hna tam tru", ["gia_han_tam_tru"]),
    ("thuogn tru o dau", ["thuong_tru", "o", "dau"]),
    ("xac nhan dien tihc nha", ["xac_nhan_dien_tich_nha"]),
    ("lien thong khai tu", ["lien_thong_khai_tu"]),
    ("vneid thanks", ["vneid", "thanks"]),
]


@pytest.mark.parametrize("text,lemmas", SLIPS)
def test_a_slip_inside_a_name_is_read_as_the_name(text, lemmas):
    names = compounds_from_words(["gia hạn tạm trú", "thường trú", "xác nhận diện tích nhà",
                                  "liên thông khai tử", "tạm trú"])
    assert [w.lemma for w in Segmenter(COMPOUNDS, fixed=names).segment(text)] == lemmas


# A name learnt as typed with an abbreviation ("thẻ BHYT") and the same name spelled out are one
# term: the three ways a parent types the card give the same lemma.
@pytest.mark.parametrize("text", ["thẻ BHYT trẻ em", "thẻ bảo hiểm y tế trẻ em",
                                  "the bao hiem y te tre em"])
def test_a_name_learnt_abbreviated_matches_it_spelled_out(text):
    names = compounds_from_words(["thẻ BHYT trẻ em", "thẻ bảo hiểm"])
    words = Segmenter(COMPOUNDS, fixed=names).segment(text)
    assert [w.lemma for w in words] == ["the_bao_hiem_y_te_tre_em"]



def test_a_phrase_of_a_list_ends_no_clause():
    # "căn cước ghi" (a qualifier: what the card says) keeps its "ghi"
    words = Segmenter((), phrases=True).segment("căn cước ghi")
    assert [s for w in words for s in w.syllables] == ["can", "cuoc", "ghi"]
