#!/usr/bin/python3
"""Reference renderer for chat templates: what Hugging Face transformers'
`tokenizer.apply_chat_template(messages, tokenize=False, ...)` produces, for the
C++ chat-template engine's tests to compare against.

Usage:
  scripts/chat_template_reference.py --template-dir DIR --conversations FILE
                                     [--output FILE] [--date YYYY-MM-DD]

DIR holds tokenizer_config.json (its "chat_template" is a string, or a list of
{"name", "template"}) and/or chat_template.jinja (which, as in transformers'
from_pretrained, takes precedence over the config's chat_template); named
templates may also sit in DIR/additional_chat_templates/<name>.jinja.

Output: JSONL, one line per conversation, in corpus order:
  {"name": ..., "template": "default"|"tool_use"|null, "text": ...}
  {"name": ..., "template": ..., "error": message, "error_type": class name}
"error_type" is "TemplateError" when the template called raise_exception();
anything else (TypeError from "str" + dict, UndefinedError, SecurityError ...)
is a Python-side failure the C++ engine should also treat as a render error
(its message text is Python's and need not match).

The environment mirrors transformers' `_compile_jinja_template` and
`render_jinja_template` (src/transformers/utils/chat_template_utils.py) and
`apply_chat_template`/`get_chat_template` (tokenization_utils_base.py):
  - jinja2.sandbox.ImmutableSandboxedEnvironment(trim_blocks=True,
    lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols]) (transformers
    also adds its {% generation %} tracker extension; reproduced as a no-op
    block here so templates using it still parse);
  - filters["tojson"] = json.dumps(x, ensure_ascii=False, indent=None,
    separators=None, sort_keys=False) with those keyword overrides;
  - globals raise_exception(msg) -> TemplateError, strftime_now(fmt);
  - render(messages=..., tools=list or None, documents=list or None,
    add_generation_prompt=bool, **{**special_tokens_map, **kwargs}).
strftime_now uses a FIXED date, not the clock: --date, else the environment
variable R1_TEMPLATE_DATE, else 2026-01-15 (midnight, naive local datetime).

Corpus format (tests/chat_templates/conversations.json): {"tool_sets": {name:
spec}, "conversations": [{"name", "messages", "tools"?, "documents"?,
"add_generation_prompt", "kwargs"?}]}; an entry of "tools" is either an inline
JSON-schema spec or the name of a spec in "tool_sets".

Requires jinja2 >= 3.1 (Debian 12: python3-jinja2 3.1.2).
"""

import argparse
import datetime
import json
import os
import sys
from pathlib import Path

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

DEFAULT_DATE = "2026-01-15"

# transformers' SpecialTokensMixin.SPECIAL_TOKENS_ATTRIBUTES, in its order.
SPECIAL_TOKEN_ATTRIBUTES = [
    "bos_token", "eos_token", "unk_token", "sep_token",
    "pad_token", "cls_token", "mask_token", "additional_special_tokens",
]


class GenerationTag(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: transformers uses it to track
    assistant spans; for the rendered text it is a pass-through block."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_support"), [], [], body).set_lineno(lineno)

    def _support(self, caller):
        return caller()


def make_environment(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return now.strftime(format)

    env = ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True,
        extensions=[GenerationTag, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def token_content(value):
    """A tokenizer_config special token: a string, an AddedToken dict
    ({"content": ..., "__type": "AddedToken", ...}) or null."""
    if isinstance(value, dict):
        return value.get("content")
    return value


def load_template_dir(directory):
    """Returns (chat_template, special_tokens_map) as transformers would hold
    them: chat_template is a str or a dict name -> template."""
    directory = Path(directory)
    config = {}
    config_path = directory / "tokenizer_config.json"
    if config_path.exists():
        config = json.loads(config_path.read_text(encoding="utf-8"))

    template = config.get("chat_template")
    if isinstance(template, (list, tuple)):
        template = {t["name"]: t["template"] for t in template}
    jinja_path = directory / "chat_template.jinja"
    if jinja_path.exists():
        template = jinja_path.read_text(encoding="utf-8")
    extra_dir = directory / "additional_chat_templates"
    if extra_dir.is_dir():
        named = {p.stem: p.read_text(encoding="utf-8") for p in sorted(extra_dir.glob("*.jinja"))}
        if named:
            base = template if isinstance(template, dict) else ({"default": template} if template else {})
            template = {**base, **named}
    if template is None:
        raise SystemExit(f"{directory}: no chat_template in tokenizer_config.json and no chat_template.jinja")

    # special_tokens_map: only the attributes that are set (truthy), as strings.
    special = {}
    for attr in SPECIAL_TOKEN_ATTRIBUTES:
        value = config.get(attr)
        if attr == "additional_special_tokens":
            value = [token_content(v) for v in (value or [])]
        else:
            value = token_content(value)
        if value:
            special[attr] = value
    return template, special


def select_template(chat_template, tools):
    """transformers' get_chat_template(None, tools)."""
    if isinstance(chat_template, dict):
        if tools is not None and "tool_use" in chat_template:
            return "tool_use", chat_template["tool_use"]
        if "default" in chat_template:
            return "default", chat_template["default"]
        raise SystemExit(f"multiple chat templates and no default: {sorted(chat_template)}")
    return None, chat_template


def resolve_tools(tools, tool_sets):
    if tools is None:
        return None
    return [tool_sets[t] if isinstance(t, str) else t for t in tools]


def parse_date(text):
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        raise SystemExit(f"bad date {text!r}: expected YYYY-MM-DD")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--template-dir", required=True)
    ap.add_argument("--conversations", required=True)
    ap.add_argument("--output", help="JSONL output (default: stdout)")
    ap.add_argument("--date", help="date for strftime_now (default: $R1_TEMPLATE_DATE or %s)" % DEFAULT_DATE)
    args = ap.parse_args()

    now = parse_date(args.date or os.environ.get("R1_TEMPLATE_DATE") or DEFAULT_DATE)
    env = make_environment(now)
    chat_template, special = load_template_dir(args.template_dir)
    corpus = json.loads(Path(args.conversations).read_text(encoding="utf-8"))
    tool_sets = corpus.get("tool_sets", {})

    compiled = {}
    lines = []
    raised = 0
    for conv in corpus["conversations"]:
        tools = resolve_tools(conv.get("tools"), tool_sets)
        which, source = select_template(chat_template, tools)
        out = {"name": conv["name"], "template": which}
        try:
            if source not in compiled:
                compiled[source] = env.from_string(source)
            # kwargs overwrite special tokens if both are present (transformers).
            template_kwargs = {**special, **conv.get("kwargs", {})}
            out["text"] = compiled[source].render(
                messages=conv["messages"],
                tools=tools,
                documents=conv.get("documents"),
                add_generation_prompt=bool(conv.get("add_generation_prompt", False)),
                **template_kwargs,
            )
        except Exception as e:  # noqa: BLE001 - every failure is a reference outcome
            out["error"] = str(e)
            out["error_type"] = type(e).__name__
            raised += 1
        lines.append(json.dumps(out, ensure_ascii=False))

    text = "\n".join(lines) + "\n"
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    print(f"jinja2 {jinja2.__version__}: {len(lines) - raised} rendered, {raised} raised",
          file=sys.stderr)


if __name__ == "__main__":
    main()
