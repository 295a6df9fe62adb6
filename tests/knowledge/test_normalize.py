"""Vietnamese normalisation: NFC, tone placement, folding, abbreviations, fillers."""

from __future__ import annotations

import unicodedata

import pytest

from knowledge.normalize import canonical_syllable, fold, normalize, slugify, strip_fillers, token_weight


@pytest.mark.parametrize(
    ("old", "new"),
    [("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("tuỳ", "tùy"), ("uỷ", "ủy"), ("hoá", "hóa")],
)
def test_old_and_new_tone_placement_are_one_spelling(old: str, new: str) -> None:
    assert canonical_syllable(old) == canonical_syllable(new)
    assert normalize(f"Văn {old}").accented == normalize(f"văn {new}").accented


@pytest.mark.parametrize("word", ["người", "giữa", "hoàn", "quốc", "thuế", "điều", "của", "mùa", "gì"])
def test_tone_stays_on_the_right_vowel(word: str) -> None:
    assert canonical_syllable(word) == word


def test_i_and_y_after_a_consonant_are_the_same() -> None:
    assert normalize("lý lịch").folded == normalize("lí lịch").folded == ("li", "lich")
    assert normalize("kỹ thuật").accented == normalize("kĩ thuật").accented
    # "uy", "ay" are other vowels and stay
    assert normalize("tay thuỷ").folded == ("tay", "thuy")


def test_decomposed_input_equals_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Đăng ký kết hôn")
    assert normalize(decomposed) == normalize("Đăng ký kết hôn")


def test_fold_removes_diacritics_and_maps_d() -> None:
    assert fold("Đăng ký Hộ kinh doanh ở đâu") == "Dang ky Ho kinh doanh o dau"
    assert normalize("ĐĂNG KÝ").folded == ("dang", "ki")


def test_punctuation_and_emoji_are_dropped() -> None:
    assert normalize("Lệ phí??? 😀 hộ-chiếu!!! (bao nhiêu)").folded == ("le", "phi", "ho", "chieu", "bao", "nhieu")


@pytest.mark.parametrize(
    ("typed", "expanded"),
    [
        ("ko", "không"),
        ("k", "không"),
        ("hok", "không"),
        ("dc", "được"),
        ("đc", "được"),
        ("bn", "bao nhiêu"),
        ("cccd", "căn cước công dân"),
        ("gplx", "giấy phép lái xe"),
        ("lltp", "lí lịch tư pháp"),
        ("dkkd", "đăng kí kinh doanh"),
        ("bhxh", "bảo hiểm xã hội"),
        ("bhyt", "bảo hiểm y tế"),
        ("sdt", "số điện thoại"),
        ("passport", "hộ chiếu"),
        ("online", "trực tuyến"),
    ],
)
def test_abbreviations_and_loanwords_expand(typed: str, expanded: str) -> None:
    assert normalize(typed).text == expanded


def test_colloquial_phrase_needs_matching_diacritics() -> None:
    assert "quyền" in normalize("làm sổ đỏ").accented
    assert "quyen" in normalize("lam so do").folded
    # "sơ đồ" (a diagram) is not "sổ đỏ"
    assert normalize("sơ đồ vị trí").folded == ("so", "do", "vi", "tri")


def test_filler_phrases_are_removed() -> None:
    assert normalize("Ad ơi cho em hỏi lệ phí hộ chiếu ạ").folded == ("le", "phi", "ho", "chieu", "a")
    assert strip_fillers(normalize("lệ phí hộ chiếu ạ").accented) == ("lệ", "phí", "hộ", "chiếu")


def test_token_weight_separates_particles_ambiguous_and_content_words() -> None:
    assert token_weight("không", "khong") == 0.0
    assert token_weight("khong", "khong") == 0.0
    assert 0.0 < token_weight("can", "can") < 1.0  # cần or căn: typed without diacritics, unsure
    assert token_weight("cần", "can") == 0.0
    assert token_weight("căn", "can") == 1.0
    assert token_weight("hộ", "ho") == 1.0


def test_slugify() -> None:
    assert slugify("Đăng ký kết hôn (có yếu tố nước ngoài)") == "dang-ky-ket-hon-co-yeu-to-nuoc-ngoai"


def test_chat_shorthand_for_hours_pronouns_and_canonical_keys() -> None:
    assert normalize("sáng 7h30 mấy h mở cửa").accented[:4] == ("sáng", "7", "giờ", "30")
    assert "giờ" in normalize("may h").accented
    assert normalize("e muon hoi").accented[0] == "em"
    # "cty" is canonically "cti" (y after a consonant is i): the abbreviation is still found
    assert normalize("cty").accented == ("công", "ti")


def test_weekday_digits_and_online_colloquialisms() -> None:
    assert normalize("chiều thứ 7 có làm không").accented[1:3] == ("thứ", "bảy")
    assert normalize("chieu thu 7 co lam ko").folded[1:3] == ("thu", "bay")
    assert normalize("nộp qua mạng được không").accented[:3] == ("nộp", "trực", "tuyến")


def test_cong_chung_is_read_as_chung_thuc_too() -> None:
    # citizens say "công chứng" for the commune's "chứng thực"
    assert "chứng" in normalize("công chứng bản sao").accented[2:]
    assert normalize("cong chung cccd").folded[:4] == ("cong", "chung", "chung", "thuc")
