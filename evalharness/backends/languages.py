"""Our language tags (ISO 639-1, as test sets use them) in the forms models want: an English
name for prompts, NLLB's FLORES-200 codes (`swe_Latn`), mBART-50's (`sv_SE`), M2M100's (the
ISO code itself) and MADLAD's target prefix (`<2sv>`). A language a family has no code for
is one line saying so; `src_code=`/`tgt_code=` backend options name a code by hand."""

from __future__ import annotations

from evalharness.errors import UserError

# tag: (English name, NLLB code, mBART-50 code or "")
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "af": ("Afrikaans", "afr_Latn", "af_ZA"),
    "am": ("Amharic", "amh_Ethi", ""),
    "ar": ("Arabic", "arb_Arab", "ar_AR"),
    "as": ("Assamese", "asm_Beng", ""),
    "az": ("Azerbaijani", "azj_Latn", "az_AZ"),
    "be": ("Belarusian", "bel_Cyrl", ""),
    "bg": ("Bulgarian", "bul_Cyrl", ""),
    "bn": ("Bengali", "ben_Beng", "bn_IN"),
    "bs": ("Bosnian", "bos_Latn", ""),
    "ca": ("Catalan", "cat_Latn", ""),
    "cs": ("Czech", "ces_Latn", "cs_CZ"),
    "cy": ("Welsh", "cym_Latn", ""),
    "da": ("Danish", "dan_Latn", ""),
    "de": ("German", "deu_Latn", "de_DE"),
    "el": ("Greek", "ell_Grek", ""),
    "en": ("English", "eng_Latn", "en_XX"),
    "eo": ("Esperanto", "epo_Latn", ""),
    "es": ("Spanish", "spa_Latn", "es_XX"),
    "et": ("Estonian", "est_Latn", "et_EE"),
    "eu": ("Basque", "eus_Latn", ""),
    "fa": ("Persian", "pes_Arab", "fa_IR"),
    "fi": ("Finnish", "fin_Latn", "fi_FI"),
    "fr": ("French", "fra_Latn", "fr_XX"),
    "ga": ("Irish", "gle_Latn", ""),
    "gl": ("Galician", "glg_Latn", "gl_ES"),
    "gu": ("Gujarati", "guj_Gujr", "gu_IN"),
    "he": ("Hebrew", "heb_Hebr", "he_IL"),
    "hi": ("Hindi", "hin_Deva", "hi_IN"),
    "hr": ("Croatian", "hrv_Latn", "hr_HR"),
    "hu": ("Hungarian", "hun_Latn", ""),
    "hy": ("Armenian", "hye_Armn", ""),
    "id": ("Indonesian", "ind_Latn", "id_ID"),
    "is": ("Icelandic", "isl_Latn", ""),
    "it": ("Italian", "ita_Latn", "it_IT"),
    "ja": ("Japanese", "jpn_Jpan", "ja_XX"),
    "jv": ("Javanese", "jav_Latn", ""),
    "ka": ("Georgian", "kat_Geor", "ka_GE"),
    "kk": ("Kazakh", "kaz_Cyrl", "kk_KZ"),
    "km": ("Khmer", "khm_Khmr", "km_KH"),
    "kn": ("Kannada", "kan_Knda", ""),
    "ko": ("Korean", "kor_Hang", "ko_KR"),
    "ky": ("Kyrgyz", "kir_Cyrl", ""),
    "lo": ("Lao", "lao_Laoo", ""),
    "lt": ("Lithuanian", "lit_Latn", "lt_LT"),
    "lv": ("Latvian", "lvs_Latn", "lv_LV"),
    "mk": ("Macedonian", "mkd_Cyrl", "mk_MK"),
    "ml": ("Malayalam", "mal_Mlym", "ml_IN"),
    "mn": ("Mongolian", "khk_Cyrl", "mn_MN"),
    "mr": ("Marathi", "mar_Deva", "mr_IN"),
    "ms": ("Malay", "zsm_Latn", ""),
    "mt": ("Maltese", "mlt_Latn", ""),
    "my": ("Burmese", "mya_Mymr", "my_MM"),
    "nb": ("Norwegian Bokmål", "nob_Latn", ""),
    "ne": ("Nepali", "npi_Deva", "ne_NP"),
    "nl": ("Dutch", "nld_Latn", "nl_XX"),
    "nn": ("Norwegian Nynorsk", "nno_Latn", ""),
    "no": ("Norwegian", "nob_Latn", ""),
    "pa": ("Punjabi", "pan_Guru", ""),
    "pl": ("Polish", "pol_Latn", "pl_PL"),
    "ps": ("Pashto", "pbt_Arab", "ps_AF"),
    "pt": ("Portuguese", "por_Latn", "pt_XX"),
    "ro": ("Romanian", "ron_Latn", "ro_RO"),
    "ru": ("Russian", "rus_Cyrl", "ru_RU"),
    "si": ("Sinhala", "sin_Sinh", "si_LK"),
    "sk": ("Slovak", "slk_Latn", ""),
    "sl": ("Slovenian", "slv_Latn", "sl_SI"),
    "sq": ("Albanian", "als_Latn", ""),
    "sr": ("Serbian", "srp_Cyrl", ""),
    "sv": ("Swedish", "swe_Latn", "sv_SE"),
    "sw": ("Swahili", "swh_Latn", "sw_KE"),
    "ta": ("Tamil", "tam_Taml", "ta_IN"),
    "te": ("Telugu", "tel_Telu", "te_IN"),
    "th": ("Thai", "tha_Thai", "th_TH"),
    "tl": ("Tagalog", "tgl_Latn", "tl_XX"),
    "tr": ("Turkish", "tur_Latn", "tr_TR"),
    "uk": ("Ukrainian", "ukr_Cyrl", "uk_UA"),
    "ur": ("Urdu", "urd_Arab", "ur_PK"),
    "uz": ("Uzbek", "uzn_Latn", ""),
    "vi": ("Vietnamese", "vie_Latn", "vi_VN"),
    "xh": ("Xhosa", "xho_Latn", "xh_ZA"),
    "yo": ("Yoruba", "yor_Latn", ""),
    "zh": ("Chinese", "zho_Hans", "zh_CN"),
    "zu": ("Zulu", "zul_Latn", ""),
}


def language_name(tag: str) -> str:
    """The English name a prompt uses ("Swedish"); the tag itself for a language not listed."""
    return LANGUAGES[tag][0] if tag in LANGUAGES else tag


def model_code(family: str, tag: str) -> str:
    """The code a model family uses for a language: nllb, mbart50, m2m100 or madlad."""
    if family == "m2m100":
        return tag
    if family == "madlad":
        return f"<2{tag}>"
    column = {"nllb": 1, "mbart50": 2}[family]
    code = LANGUAGES.get(tag, ("", "", ""))[column]
    if not code:
        raise UserError(
            f"no {family} language code is known for {tag!r}; name it with the backend options "
            "src_code=/tgt_code= (e.g. swe_Latn for NLLB, sv_SE for mBART-50)"
        )
    return code
