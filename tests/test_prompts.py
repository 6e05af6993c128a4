import pytest

from qa_bot.errors import QABotError
from qa_bot.prompts import PROMPT_VARIABLES, load_prompt


@pytest.mark.parametrize("name", sorted(PROMPT_VARIABLES))
def test_shipped_prompts_load_with_exactly_their_variables(name):
    prompt = load_prompt(name)
    assert len(prompt.sha) == 12
    values = {v: f"<{v}>" for v in PROMPT_VARIABLES[name]}
    text = " ".join(m["content"] for m in prompt.render(**values))
    assert all(f"<{v}>" in text for v in values)


def test_a_prompt_with_a_typo_fails_to_load(tmp_path):
    (tmp_path / "answer.txt").write_text("sys\n---\n{evidence}\n{questoin}")
    with pytest.raises(QABotError, match="must use exactly"):
        load_prompt("answer", tmp_path)


def test_render_rejects_missing_variables_and_does_not_reparse_braces():
    prompt = load_prompt("answer")
    with pytest.raises(QABotError):
        prompt.render(question="q")
    text = prompt.render(sentence="{question} stays literal", question="Q?")[-1]["content"]
    assert "{question} stays literal" in text


def test_an_empty_setting_means_the_default(monkeypatch):
    from qa_bot.settings import Settings

    monkeypatch.setenv("QA_BOT_PROMPTS_DIR", "")
    monkeypatch.setenv("QA_BOT_LLM_URL", " ")
    settings = Settings(_env_file=None)
    assert settings.prompts_dir is None and settings.llm_url is None
    assert load_prompt("answer", settings.prompts_dir).name == "answer"
