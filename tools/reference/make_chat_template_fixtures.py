"""Reference values for lmtune's chat templates and Jinja interpreter.

Run from the repository root:

    ~/.cache/lmtune/ref-venv/bin/python tools/reference/make_chat_template_fixtures.py

(transformers 5.23, jinja2 3.1.6). Writes tests/fixtures/chat_templates/:

  jinja_cases.json   template + context -> what jinja2 renders in the very
                     environment transformers builds (_compile_jinja_template:
                     trim_blocks, lstrip_blocks, loopcontrols, its tojson,
                     raise_exception, strftime_now, namespace), or "error"
  chat_cases.json    apply_chat_template(tokenize=False) and, where
                     transformers loads the folder's tokenizer,
                     apply_chat_template(tokenize=True) for every template x
                     conversation (x add_generation_prompt on/off)
  tokenize_jsonl.json  GPT-2 ids of texts with newlines, for lmtune tokenize --jsonl
  mistral/, chatml/  tokenizer_config.json folders for the two templates that
                     are not in ../shared/data/llama-family

strftime_now is pinned: datetime.now() returns 2025-03-14 09:26:53 here, and
lmtune reads the same instant from LMT_TEMPLATE_NOW=1741944413 (UTC).

The Mistral template is Mistral-7B-Instruct-v0.1's chat_template (its
tokenizer_config.json on the Hub, early 2024, as quoted in public copies of
that file); the ChatML template is the plain <|im_start|>role ... <|im_end|>
format of the transformers chat-templating docs.
"""
import datetime
import json
import os
import sys

import transformers
from transformers import AutoTokenizer
from transformers.utils import chat_template_utils as ctu

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.path.join(ROOT, "..", "shared", "data", "llama-family")
OUT = os.path.join(ROOT, "tests", "fixtures", "chat_templates")
PINNED = datetime.datetime(2025, 3, 14, 9, 26, 53)


class _PinnedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return PINNED


ctu.datetime = _PinnedDatetime
ctu._cached_compile_jinja_template.cache_clear() if hasattr(ctu._cached_compile_jinja_template, "cache_clear") else None

MISTRAL = (
    "{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token + ' ' }}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}"
)
CHATML = (
    "{% for message in messages %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}"
    "{% if add_generation_prompt %}"
    "{{ '<|im_start|>assistant\n' }}"
    "{% endif %}"
)

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_temperature",
        "description": "Get the current temperature at a location.",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The location, as \"City, Country\""},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
SEARCH_TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web — returns snippets.",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}, "k": {"type": "integer", "default": 3}}},
    },
}

U, A, S = "user", "assistant", "system"


def m(role, content):
    return {"role": role, "content": content}


TOOL_CALL = {"role": "assistant", "tool_calls": [{"type": "function", "function": {
    "name": "get_current_temperature", "arguments": {"location": "Paris, France", "unit": "celsius"}}}]}
TOOL_RESULT = {"role": "tool", "name": "get_current_temperature", "content": "22.5"}

CONVERSATIONS = [
    ("single_user", [m(U, "Hello!")], None),
    ("user_assistant", [m(U, "Hi, who are you?"), m(A, "I am a helpful assistant.")], None),
    ("system_user", [m(S, "You are terse."), m(U, "Name a color.")], None),
    ("multi_turn", [m(S, "Be kind."), m(U, "What is 2+2?"), m(A, "4."), m(U, "And 3+3?"), m(A, "6."), m(U, "Thanks")], None),
    ("no_system_multi", [m(U, "a"), m(A, "b"), m(U, "c")], None),
    ("empty_content", [m(U, ""), m(A, "")], None),
    ("empty_system", [m(S, ""), m(U, "hi")], None),
    ("multiline", [m(U, "line one\nline two\n\nline four"), m(A, "  indented\n\tand tabbed\n")], None),
    ("unicode", [m(U, "Grüße! 你好 — ça va? 🙂👍🏽"), m(A, "Très bien 😀 — 谢谢")], None),
    ("spaces_around", [m(S, "  padded system  "), m(U, "  padded user  \n")], None),
    ("quotes_braces", [m(U, "Use {{ braces }} and {% tags %} and 'quotes' \"double\" \\ backslash")], None),
    ("special_tokens_in_text", [m(U, "<|im_start|> and </s> and <|eot_id|> inside")], None),
    ("long_text", [m(U, " ".join(f"word{i}" for i in range(200)))], None),
    ("json_content", [m(U, '{"a": [1, 2, {"b": null}]}')], None),
    ("assistant_last", [m(U, "Continue"), m(A, "Sure, here")], None),
    ("tools_user", [m(U, "What's the temperature in Paris?")], [WEATHER_TOOL]),
    ("tools_system", [m(S, "You can call tools."), m(U, "Temperature in Paris?")], [WEATHER_TOOL, SEARCH_TOOL]),
    ("tool_call_roundtrip", [m(U, "Temperature in Paris?"), TOOL_CALL, TOOL_RESULT, m(A, "It is 22.5 °C in Paris.")], [WEATHER_TOOL]),
    ("tool_call_no_tools", [m(U, "Temperature in Paris?"), TOOL_CALL, TOOL_RESULT], None),
    ("two_tool_results", [m(U, "Weather?"), {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "get_current_temperature", "arguments": {"location": "Oslo, Norway"}}},
        {"type": "function", "function": {"name": "search", "arguments": {"q": "Oslo weather"}}}]},
        {"role": "tool", "content": "-3"}, {"role": "tool", "content": "snowy"}], [WEATHER_TOOL, SEARCH_TOOL]),
    ("content_none_dropped", [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": None}], None),
    ("bad_role_order", [m(A, "I speak first"), m(U, "then me")], None),
    ("unknown_role", [m(U, "hi"), m("narrator", "Once upon a time")], None),
]

TEMPLATES = [
    # name, folder with the template (relative to ROOT or SHARED), tokenizer folder for ids, template override
    ("SmolLM2-135M-Instruct", "shared:SmolLM2-135M-Instruct", "shared:SmolLM2-135M-Instruct", None),
    ("Qwen2.5-0.5B-Instruct", "shared:Qwen2.5-0.5B-Instruct", "shared:Qwen2.5-0.5B-Instruct", None),
    ("Llama-3.2-1B-Instruct", "shared:Llama-3.2-1B-Instruct", "shared:Llama-3.2-1B-Instruct", None),
    ("TinyLlama-1.1B-Chat-v1.0", "shared:TinyLlama-1.1B-Chat-v1.0", "shared:TinyLlama-1.1B-Chat-v1.0", None),
    ("mistral", "fixture:mistral", "shared:Mistral-7B-v0.1", MISTRAL),
    ("chatml", "fixture:chatml", "shared:SmolLM2-135M", CHATML),
]


def where(spec):
    kind, name = spec.split(":", 1)
    return os.path.join(SHARED, name) if kind == "shared" else os.path.join(OUT, name)


def write_fixture_folders():
    for name, tmpl, tok in (("mistral", MISTRAL, "Mistral-7B-v0.1"), ("chatml", CHATML, "SmolLM2-135M")):
        os.makedirs(os.path.join(OUT, name), exist_ok=True)
        t = AutoTokenizer.from_pretrained(os.path.join(SHARED, tok))
        cfg = {k: v for k, v in t.special_tokens_map.items()}
        cfg["chat_template"] = tmpl
        with open(os.path.join(OUT, name, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump(cfg, f, indent=2, ensure_ascii=False)
            f.write("\n")


def chat_cases():
    out = []
    for name, tmpl_dir, tok_dir, override in TEMPLATES:
        tok = AutoTokenizer.from_pretrained(where(tok_dir))
        if override is None:
            override_tmpl = None
        else:
            override_tmpl = override
        for conv_name, messages, tools in CONVERSATIONS:
            for gen in (False, True):
                case = {"template": name, "dir": tmpl_dir, "tokenizer": tok_dir, "conversation": conv_name,
                        "messages": messages, "tools": tools, "add_generation_prompt": gen}
                kw = dict(add_generation_prompt=gen)
                if tools is not None:
                    kw["tools"] = tools
                if override_tmpl is not None:
                    kw["chat_template"] = override_tmpl
                try:
                    case["text"] = tok.apply_chat_template(messages, tokenize=False, **kw)
                    ids = tok.apply_chat_template(messages, tokenize=True, return_dict=False, **kw)
                    if hasattr(ids, "tolist"):
                        ids = ids.tolist()
                    case["ids"] = list(ids)
                except Exception as e:  # a template that raises: the message
                    case["error"] = f"{type(e).__name__}: {e}"
                out.append(case)
    return out


JINJA_CASES = [
    # (name, template, context)
    ("text", "plain text", {}),
    ("var", "{{ x }}", {"x": "hi"}),
    ("int_float_none_bool", "{{ 1 }} {{ 1.0 }} {{ 2.5e3 }} {{ none }} {{ None }} {{ true }} {{ False }}", {}),
    ("py_str", "{{ [1, 'a', none, true, 1.5] }} {{ {'a': 1, 'b': [2]} }} {{ (1,) }} {{ (1, 'x') }}", {}),
    ("string_escapes", r"""{{ 'a\nb\t"c"\'d\\e\x41\u00e9' }}{{ "x\"y" }}""", {}),
    ("undefined_empty", "[{{ nope }}][{{ nope|default('d') }}][{{ x.missing }}][{{ x['missing'] }}]", {"x": {}}),
    ("undefined_falsy", "{% if nope %}yes{% else %}no{% endif %}{% if not nope %}!{% endif %}", {}),
    ("trim_blocks", "{% if true %}\nA\n{% endif %}\nB", {}),
    ("lstrip_blocks", "x\n    {% if true %}\n    y\n    {% endif %}\nz", {}),
    ("ws_control", "a   {{- 'b' -}}   c\n  {%- if true -%}  d  {%- endif -%}\n  e", {}),
    ("ws_plus", "a\n  {%+ if true %}b{% endif %}\n", {}),
    ("comment", "a {# c #}b\n{# line #}\nc {#- x -#} d", {}),
    ("comment_lstrip", "a\n    {# comment #}\nb", {}),
    ("var_no_lstrip", "a\n    {{ 'v' }}\nb", {}),
    ("trailing_newline", "abc\n", {}),
    ("crlf", "a\r\n{% if true %}\r\nb\r\n{% endif %}\r\nc", {}),
    ("for_loop", "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }}:{{ x }};{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("for_else", "{% for x in xs %}{{ x }}{% else %}empty{% endfor %}", {"xs": []}),
    ("for_filter_iter", "{% for x in xs|reverse %}{{ x }}{% endfor %}|{% for x in xs|sort %}{{ x }}{% endfor %}", {"xs": [3, 1, 2]}),
    ("for_if", "{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{{ loop.last }} {% endfor %}", {"xs": [1, 2, 3]}),
    ("for_items", "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", {"d": {"b": 1, "a": 2}}),
    ("for_tuple_paren", "{% for (a, b) in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}", {}),
    ("for_string", "{% for c in 'hé!' %}[{{ c }}]{% endfor %}", {}),
    ("for_previtem", "{% for x in [1,2,3] %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}", {}),
    ("nested_loops", "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %}", {}),
    ("break_continue", "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}", {}),
    ("if_elif", "{% for x in [1,2,3,4] %}{% if x == 1 %}one{% elif x == 2 %}two{% elif x == 3 %}three{% else %}other{% endif %} {% endfor %}", {}),
    ("set", "{% set x = 1 %}{% set y = x + 1 %}{{ x }}{{ y }}{% set a, b = 3, 4 %}{{ a }}{{ b }}", {}),
    ("set_scope_loop", "{% set x = 0 %}{% for i in [1,2] %}{% set x = i %}{% endfor %}{{ x }}", {}),
    ("namespace", "{% set ns = namespace(total=0, found=false) %}{% for i in [1,2,3] %}{% set ns.total = ns.total + i %}{% if i == 2 %}{% set ns.found = true %}{% endif %}{% endfor %}{{ ns.total }} {{ ns.found }}", {}),
    ("set_block", "{% set x %}a{{ 1 + 1 }}b{% endset %}[{{ x }}]{% set y | upper %}low{% endset %}{{ y }}", {}),
    ("macro", "{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('A') }} {{ greet('B', '?') }} {{ greet(name='C', punct='.') }}", {}),
    ("macro_globals", "{% macro show() %}{{ g }}{% endmacro %}{{ show() }}", {"g": "global"}),
    ("raise_exception", "{% if x %}{{ raise_exception('bad input: ' ~ x) }}{% endif %}", {"x": 1}),
    ("strftime_now", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d %H:%M:%S') }}", {}),
    ("tests", "{{ x is defined }}{{ y is undefined }}{{ n is none }}{{ s is string }}{{ d is mapping }}{{ l is iterable }}{{ s is iterable }}{{ i is iterable }}{{ l is sequence }}{{ i is number }}{{ f is number }}{{ s is number }}{{ t is true }}{{ t is false }}{{ t is boolean }}{{ i is boolean }}{{ i is integer }}{{ f is float }}", {"x": 1, "n": None, "s": "s", "d": {}, "l": [1], "i": 3, "f": 1.5, "t": True}),
    ("tests_args", "{{ 3 is equalto 3 }}{{ 3 is eq(4) }}{{ 3 is ne 4 }}{{ 4 is divisibleby 2 }}{{ 3 is odd }}{{ 3 is even }}{{ 'abc' is lower }}{{ 2 is in [1, 2] }}{{ x is not none }}{{ 3 is gt 2 }}", {"x": 1}),
    ("operators", "{{ 1 + 2 }} {{ 7 - 10 }} {{ 2 * 3 }} {{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 1 + 2.5 }} {{ 'a' ~ 1 ~ none }} {{ -x }} {{ 'ab' * 2 }} {{ [1] + [2] }}", {"x": 3}),
    ("logic", "{{ true and false }} {{ 0 or 'x' }} {{ '' and 1 }} {{ not 0 }} {{ 1 in [1, 2] }} {{ 'b' in 'abc' }} {{ 'k' in {'k': 1} }} {{ 3 not in [1] }} {{ 1 < 2 < 3 }} {{ 'a' < 'b' }} {{ 1 == 1.0 }} {{ [1, 2] == [1, 2] }} {{ 1 != 2 }}", {}),
    ("cond_expr", "{{ 'y' if x else 'n' }}{{ 'y' if not x else 'n' }}[{{ 'only' if false }}]", {"x": 1}),
    ("precedence", "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'a' + 'b' | upper }} {{ -2 ** 2 }} {{ not 1 == 2 }}", {}),
    ("attr_item", "{{ m.role }} {{ m['content'] }} {{ l[0] }} {{ l[-1] }} {{ l[1:] }} {{ l[::-1] }} {{ l[:2] }} {{ s[1:3] }} {{ s[::-1] }} {{ s[-2:] }} {{ l[5] }}.", {"m": {"role": "user", "content": "c"}, "l": [1, 2, 3], "s": "héllo"}),
    ("str_methods", "[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxaxx'.strip('x') }}]{{ 'a,b,,c'.split(',') }}{{ ' a  b '.split() }}{{ 'a b c'.split(' ', 1) }}{{ 'abc'.startswith('ab') }}{{ 'abc'.endswith('bc') }}{{ 'abc'.startswith(('x', 'a')) }}{{ 'MiXed'.upper() }}{{ 'MiXed'.lower() }}{{ 'hello world'.title() }}{{ 'hELLO'.capitalize() }}{{ 'aaa'.replace('a', 'b', 2) }}{{ '-'.join(['a', 'b']) }}", {"s": "  pad \n"}),
    ("dict_methods", "{{ d.keys()|list }}{{ d.values()|list }}{{ d.items()|list }}{{ d.get('a') }}{{ d.get('z') }}{{ d.get('z', 'dflt') }}", {"d": {"a": 1, "b": 2}}),
    ("filters_str", "[{{ s|trim }}][{{ s|upper }}][{{ s|lower }}][{{ 'hello wORLD'|capitalize }}][{{ 'hello wORLD-x(y'|title }}][{{ 'aXbX'|replace('X', '-') }}][{{ 3|string }}][{{ 'ab'|length }}][{{ 'é'|count }}]", {"s": " Mixed Case "}),
    ("filters_list", "{{ l|join(', ') }}|{{ l|first }}|{{ l|last }}|{{ l|length }}|{{ l|reverse|list }}|{{ l|sort|list }}|{{ l|sort(reverse=true)|list }}|{{ ['b', 'A', 'a']|unique|list }}|{{ 'abc'|list }}|{{ ['B', 'a', 'C']|sort }}", {"l": [3, 1, 2]}),
    ("filters_num", "{{ '42'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ 3.9|int }} {{ '1.5'|float }} {{ 3|float }} {{ -3|abs }} {{ -2.5|abs }} {{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 3|round }} {{ 2.1|round(0, 'ceil') }}", {}),
    ("filters_default", "{{ x|default('d') }} {{ ''|default('d') }} {{ ''|default('d', true) }} {{ none|default('d') }} {{ y|d('dd') }}", {"y": 0}),
    ("selectattr", "{{ ms|selectattr('role', 'equalto', 'user')|map(attribute='content')|list }} {{ ms|rejectattr('role', 'equalto', 'user')|list|length }} {{ ms|selectattr('tool')|list|length }} {{ ms|map(attribute='role')|join(',') }}", {"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool": 1}, {"role": "user", "content": "c"}]}),
    ("map_filter", "{{ ['a', 'b']|map('upper')|list }} {{ [1, 0, 2]|select|list }} {{ [1, 2, 3, 4]|select('odd')|list }} {{ [1, 2, 3]|reject('even')|list }}", {}),
    ("items_filter", "{% for k, v in d|items %}{{ k }}:{{ v }} {% endfor %}{{ d|dictsort }}", {"d": {"z": 1, "a": 2}}),
    ("tojson", "{{ d|tojson }}\n{{ d|tojson(indent=2) }}\n{{ 'héllo \"q\" </tag>'|tojson }}\n{{ [1, 2.5, none, true]|tojson }}\n{{ {}|tojson }} {{ []|tojson }} {{ d|tojson(sort_keys=true) }}", {"d": {"b": [1, {"c": None}], "a": "ü"}}),
    ("tojson_indent4", "{{ t|tojson(indent=4) }}", {"t": WEATHER_TOOL}),
    ("indent", "{{ 'a\nb\n\nc'|indent }}|{{ 'a\nb'|indent(2, true) }}|{{ 'a\n\nb'|indent(2, blank=true) }}", {}),
    ("escape_safe", "{{ '<a href=\"x\">&</a>'|e }} {{ '<b>'|safe }} {{ '<i>' }}", {}),
    ("list_dict_literals", "{{ [1, [2, 3], {'k': 'v'}] }} {% set d = {'a': 1, 'b': 2} %}{{ d['b'] }}{{ d.a }}", {}),
    ("dict_global", "{% set d = dict(a=1, b='x') %}{{ d.b }}{{ d|length }}", {}),
    ("range", "{{ range(3)|list }} {{ range(1, 7, 2)|list }} {% for i in range(2) %}{{ i }}{% endfor %}", {}),
    ("loop_in_macro", "{% macro m(xs) %}{% for x in xs %}{{ loop.index }}{{ x }}{% endfor %}{% endmacro %}{{ m(['a', 'b']) }}", {}),
    ("generation_tag", "{% for m in ms %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{% endfor %}", {"ms": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}),
    ("filter_chain_in_concat", "{{ '<' + s | trim + '>' }}{{ ('x' ~ s) | length }}", {"s": "  y "}),
    ("messages_slice", "{% set msgs = messages[1:] %}{% for m in msgs %}{{ m['role'] }}{% endfor %}{{ messages|length }}", {"messages": [{"role": "system"}, {"role": "user"}, {"role": "assistant"}]}),
    ("string_compare_in", "{{ 'tool_calls' in m }}{{ 'x' in m }}{{ m.tool_calls is defined }}{{ m.tool_calls|length }}", {"m": {"tool_calls": [1]}}),
    ("mapping_iterable_content", "{{ c is mapping }}{{ c is iterable }}{{ s is mapping }}{{ s is iterable }}", {"c": {"a": 1}, "s": "str"}),
    ("adjacent_strings", "{{ 'a' 'b' \"c\" }}", {}),
    ("loop_scope_per_iteration", "{% for i in [1,2] %}[{{ x }}]{% set x = i %}{% endfor %}|{% set y = 5 %}{% for i in [1,2] %}[{{ y }}]{% set y = i %}{% endfor %}{{ y }}", {}),
    ("if_no_scope", "{% if true %}{% set y = 3 %}{% endif %}{{ y }}", {}),
    ("macro_late_global", "{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}", {}),
    ("tojson_ensure_ascii", "{{ 'é🙂'|tojson(ensure_ascii=True) }} {{ 'é'|tojson(ensure_ascii=False) }}", {}),
    ("format", "{{ '%s-%d|%5.2f|%r|%%|%x'|format('a', 3.7, 2.345, 'q', 255) }} {{ 'n=%s' % 4 }} {{ '%s/%s' % (1, 'b') }}", {}),
    ("string_filter_undefined", "{{ nope|string }}|{{ none|string }}|{{ 'abc'[5] }}|{{ [1][3] }}", {}),
    ("float_repr", "{{ 0.1 + 0.2 }} {{ 1e20 }} {{ 1.5e-7 }} {{ 100.0 }} {{ 1/3 }} {{ 10/2 }}", {}),
    # errors: lmtune must fail too; the tests check the line and column it names.
    # An unknown filter or test fails when a render reaches it (jinja2 fails
    # at compile time outside if-blocks, only at render inside them).
    ("err_syntax", "line one\n{% if x %}\n{{ 1 + }}\n{% endif %}", {}),
    ("err_unclosed_block", "{% for x in y %}\nno end", {}),
    ("err_unknown_filter", "ok\n  {{ x|nosuchfilter }}", {"x": 1}),
    ("err_unknown_tag", "{% frobnicate %}", {}),
    ("unknown_filter_untaken", "{% if false %}{{ x|nosuchfilter }}{% endif %}ok", {}),
    ("err_unknown_test", "{{ x is nosuchtest }}", {}),
    ("err_raise", "a\nb {{ raise_exception('custom failure') }}", {}),
    ("err_undefined_add", "{{ 'a' + nope }}", {}),
    ("err_type_add", "{{ 'a' + 1 }}", {}),
    ("err_attr_of_undefined", "{{ nope.attr }}", {}),
]

ERROR_POS = {   # the (line, column) lmtune names for each error case (jinja2 names only the line)
    "err_syntax": (3, 8),
    "err_unclosed_block": (2, 7),
    "err_unknown_filter": (2, 8),
    "err_unknown_tag": (1, 4),
    "err_unknown_test": (1, 9),
    "err_raise": (2, 6),
    "err_undefined_add": (1, 8),
    "err_type_add": (1, 8),
    "err_attr_of_undefined": (1, 8),
}


def jinja_cases():
    out = []
    for name, template, context in JINJA_CASES:
        case = {"name": name, "template": template, "context": context}
        try:
            case["expected"] = ctu._compile_jinja_template(template).render(**context)
        except Exception as e:
            case["error"] = f"{type(e).__name__}: {e}"
            line = getattr(e, "lineno", None)
            if line is not None:
                case["jinja2_line"] = line
        if name.startswith("err_"):
            assert "error" in case, name
            case["line"], case["column"] = ERROR_POS[name]
        out.append(case)
    return out


TOKENIZE_JSONL_TEXTS = ["one line", "two\nlines", "  spaces\n\n and blank line\n", "tab\tand \"quotes\" é 🙂"]


def tokenize_jsonl_cases():
    """lmtune tokenize --jsonl: GPT-2's ids (add_special_tokens=True) of texts that hold newlines."""
    tok = transformers.GPT2TokenizerFast.from_pretrained(os.path.join(ROOT, "..", "shared", "data", "tokenizers", "gpt2"))
    return [{"text": t, "ids": tok(t)["input_ids"]} for t in TOKENIZE_JSONL_TEXTS]


def main():
    os.makedirs(OUT, exist_ok=True)
    write_fixture_folders()
    meta = {"transformers": transformers.__version__, "jinja2": __import__("jinja2").__version__,
            "LMT_TEMPLATE_NOW": int((PINNED - datetime.datetime(1970, 1, 1)).total_seconds())}
    with open(os.path.join(OUT, "jinja_cases.json"), "w", encoding="utf-8") as f:
        json.dump({"meta": meta, "cases": jinja_cases()}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(OUT, "tokenize_jsonl.json"), "w", encoding="utf-8") as f:
        json.dump(tokenize_jsonl_cases(), f, indent=1, ensure_ascii=False)
        f.write("\n")
    cases = chat_cases()
    with open(os.path.join(OUT, "chat_cases.json"), "w", encoding="utf-8") as f:
        # one case a line: small diffs when a case changes
        f.write('{"meta": ' + json.dumps(meta) + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c, ensure_ascii=False) for c in cases))
        f.write("\n]}\n")
    print(f"{len(JINJA_CASES)} jinja cases, {len(cases)} chat cases "
          f"({sum('error' in c for c in cases)} raise) -> {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
