"""What LLM backends send and what they make of the reply: prompt files (checked, versioned,
few-shot turns, required terms, document context), the translation extracted from chatty
output with flags, backend options checked strictly, and language codes per model family."""

from __future__ import annotations

import pytest

from evalharness.backends.base import SourceItem
from evalharness.backends.languages import language_name, model_code
from evalharness.backends.llm_output import extract
from evalharness.backends.options import checked, parse_pairs, redact
from evalharness.backends.prompts import PromptInputs, load_prompt, source_items
from evalharness.errors import UserError

# -- output hygiene ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "source", "text", "flags"),
    [
        ("Hej världen.", "Hello world.", "Hej världen.", ()),
        ("Here is the translation:\n\nHej världen.", "Hello world.", "Hej världen.", ("commentary",)),
        ('Sure! Here\'s the Swedish translation:\n"Hej världen."', "Hello world.", "Hej världen.", ("commentary",)),
        ("Here is the Swedish version:\nHej.", "Hello.", "Hej.", ("commentary",)),
        ("Sure, here you go:\n\nHej.", "Hello.", "Hej.", ("commentary",)),
        ("Here is the translation:\nSwedish: Hej då.", "Goodbye.", "Hej då.", ("commentary",)),
        ("**Translation:** Hej.", "Hello.", "Hej.", ("commentary",)),
        ("**Swedish:** Hej.", "Hello.", "Hej.", ("commentary",)),
        ("```\nHej världen.\n```", "Hello world.", "Hej världen.", ()),
        ("```text\nHej världen.\n```\nNote: I kept the name.", "Hello world.", "Hej världen.", ("commentary",)),
        ("Kör:\n```\nls -l\n```\nSluta sedan.", "Run:\n```\nls -l\n```\nThen stop.",
         "Kör: ``` ls -l ``` Sluta sedan.", ()),  # the source has the fence: it is the text
        ("Hej världen.\n\nNote: 'världen' means world.", "Hello world.", "Hej världen.", ("commentary",)),
        ("Hej världen.\n(Note: literal.)", "Hello world.", "Hej världen.", ("commentary",)),
        ("Swedish: Hej världen.", "Hello world.", "Hej världen.", ("commentary",)),
        ("Translation: Hej världen.", "Hello world.", "Hej världen.", ("commentary",)),
        ("Här är rapporten: klar.", "Here is the report: done.", "Här är rapporten: klar.", ()),
        ("“Hej världen.”", "Hello world.", "Hej världen.", ()),
        ('"Hej"', '"Hello"', '"Hej"', ()),  # quoted source: the quotes are the translation's
        ('"Ja", sa han, "nej."', "„Yes“, he said, „no.“", '"Ja", sa han, "nej."', ()),  # two quotations
        ('"Ja", sa han, "nej."', "Yes, he said, no.", '"Ja", sa han, "nej."', ()),
        ("Hej.\nVärlden.", "Hello. World.", "Hej. Världen.", ("multiline",)),
        ("Hej.\nVärlden.", "Hello.\nWorld.", "Hej. Världen.", ()),
        ("Första raden.\nNote : priset.\nTredje raden.", "First line.\nNote: the price.\nThird line.",
         "Första raden. Note : priset. Tredje raden.", ()),  # as many lines as the source: no note cut
        ("I'm sorry, but I can't help with that.", "Hello.", "I'm sorry, but I can't help with that.", ("refusal",)),
        ("Translation is an art.", "Översättning är en konst.", "Translation is an art.", ()),
        ("Note that the meeting starts at noon.", "Observera att mötet börjar klockan tolv.",
         "Note that the meeting starts at noon.", ()),
        ("", "Hello.", "", ()),
    ],
)  # fmt: skip
def test_the_translation_is_extracted_and_what_was_removed_is_flagged(raw, source, text, flags):
    assert extract(raw, source, "sv") == (text, flags)


def test_an_apology_in_english_is_a_translation_unless_it_refuses_the_task():
    assert extract("I'm sorry, I can't come tomorrow.", "Jag är ledsen, jag kan inte komma i morgon.", "en") == (
        "I'm sorry, I can't come tomorrow.", (),
    )  # fmt: skip
    assert extract("I'm sorry, but I cannot translate this text.", "Hej.", "en")[1] == ("refusal",)
    assert extract("Es tut mir leid.", "I'm sorry.", "de")[1] == ()


# -- prompts -------------------------------------------------------------------------------


def test_default_prompt_names_languages_terms_and_context():
    prompt = load_prompt()
    item = SourceItem(
        "Skilled Mass Mobilization pays off.",
        (("Skilled Mass Mobilization", "Skicklig massmobilisering"),),
        ("Earlier text.",),
    )
    messages = prompt.messages(item, "en", "sv")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[-1]["content"]
    assert "English" in user and "Swedish" in user and item.text in user
    assert "Skilled Mass Mobilization → Skicklig massmobilisering" in user
    assert "Earlier text." in user
    plain = prompt.messages(SourceItem(item.text), "en", "sv")[-1]["content"]
    assert "→" not in plain and "Earlier text." not in plain


def test_examples_become_earlier_turns_for_their_pair(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(
        'name = "fewshot"\nversion = 2\nuser = "{source_language} to {target_language}: {source}"\n'
        '[[examples]]\nsource = "God morgon."\ntarget = "Good morning."\npair = "sv-en"\n'
        '[[examples]]\nsource = "Tack."\ntarget = "धन्यवाद।"\npair = "sv-hi"\n',
        encoding="utf-8",
    )
    prompt = load_prompt(path)
    messages = prompt.messages(SourceItem("Hej."), "sv", "en")
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert (
        messages[0]["content"] == "Swedish to English: God morgon."
        and messages[1]["content"] == "Good morning."
    )
    changed = path.read_text(encoding="utf-8").replace("Good morning.", "Morning.")
    path.write_text(changed, encoding="utf-8")
    assert load_prompt(path).digest() != prompt.digest()  # examples are part of what is versioned


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('name = "x"\nversion = 1\nuser = "{sorce}"\n', "user: unknown placeholder {sorce}"),
        ('name = "x"\nversion = 1\nuser = "Translate."\n', "user: the template never says {source}"),
        (
            'name = "x"\nversion = 1\nuser = "{source}"\nterms = "{terms}"\n',
            "terms: unknown placeholder {terms}",
        ),
        ('name = "x"\nversion = 0\nuser = "{source}"\n', "version"),
        ('name = "x"\nversion = 1\nuser = "{source}"\ncolour = "red"\n', "colour"),
        ('name = "x"\nversion = 1\nuser = "{source"\n', "malformed template"),
        ('name = "x"\nversion = 1\nuser = "{source}"\n[[examples]]\nsource = "a"\n', "examples.0.target"),
    ],
)
def test_bad_prompt_files_are_one_line_naming_the_file(tmp_path, content, needle):
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_prompt(path)
    assert str(path) in str(err.value) and needle in str(err.value) and "\n" not in str(err.value)


def test_source_items_carry_terms_and_context_within_a_document():
    sources = ["A1.", "", "A2.", "A3.", "B1.", "B2."]
    docs = ["a", "a", "a", "a", "b", "b"]
    terms = [(("A1", "X"),), (), (), (), (), (("B2", "Y"),)]
    items = source_items(sources, frozenset({"terms", "context"}), 2, PromptInputs(terms, docs))
    assert [i.context for i in items] == [(), ("A1.",), ("A1.",), ("A1.", "A2."), (), ("B1.",)]
    assert items[0].terms == (("A1", "X"),) and items[5].terms == (("B2", "Y"),)
    assert source_items(sources, frozenset(), 2, PromptInputs()) == sources  # plain text for the others
    with pytest.raises(UserError, match="no glossary"):
        source_items(sources, frozenset({"terms"}), 0, PromptInputs(None, docs))
    # the cache key covers what the prompt is built from
    assert (
        SourceItem("A1.").key()
        != SourceItem("A1.", (("A1", "X"),)).key()
        != SourceItem("A1.", (), ("Z",)).key()
    )
    assert SourceItem.from_json(items[5].as_json()) == items[5]


# -- options and languages ------------------------------------------------------------------


def test_options_are_checked_and_typed():
    declared = {"num_beams": 1, "temperature": 0.0, "terms": False, "prompt": ""}
    assert checked("x", {"num_beams": "4", "temperature": "0.5", "terms": "true", "prompt": None}, declared) == {
        "num_beams": 4, "temperature": 0.5, "terms": True, "prompt": "",
    }  # fmt: skip
    for given, needle in (
        ({"num_beam": 2}, "has no option 'num_beam'"),
        ({"num_beams": "big"}, "expected a whole number"),
        ({"terms": "yes"}, "expected true or false"),
        ({"temperature": "-1"}, "expected a number"),
    ):
        with pytest.raises(UserError, match=needle):
            checked("x", given, declared)
    assert parse_pairs(["base-url=http://h:1/v1", "concurrency=8"]) == {
        "base_url": "http://h:1/v1",
        "concurrency": "8",
    }
    with pytest.raises(UserError, match="not KEY=VALUE"):
        parse_pairs(["concurrency"])


def test_urls_lose_their_credentials_before_they_are_recorded():
    assert (
        redact("base_url=https://user:sk-123@api.example.com/v1?key=sk-456#x")
        == "base_url=https://api.example.com/v1"
    )
    assert redact("no url here") == "no url here"


def test_language_codes_per_family():
    assert [model_code(f, "sv") for f in ("nllb", "mbart50", "m2m100", "madlad")] == [
        "swe_Latn",
        "sv_SE",
        "sv",
        "<2sv>",
    ]
    assert model_code("nllb", "hi") == "hin_Deva" and language_name("hi") == "Hindi"
    with pytest.raises(UserError, match="src_code=/tgt_code="):
        model_code("mbart50", "yo")
