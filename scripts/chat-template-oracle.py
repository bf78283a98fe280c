"""Writes test/oracles/chat-template-kwargs.json: chat templates rendered by jinja2 the way transformers'
apply_chat_template renders them, for what chat-templates-2.json does not cover: extra template variables
(enable_thinking, xml_tools, date_string, ...), strftime_now at fixed times, and how jinja2 prints values.

The environment is transformers' (utils/chat_template_utils.py, _compile_jinja_template): an immutable
sandbox with trim_blocks and lstrip_blocks, loop controls, the {% generation %} tag, tojson as json.dumps
(ensure_ascii=False), raise_exception and strftime_now; variables are the special tokens, then the
keyword arguments, then messages, tools, documents and add_generation_prompt.

Run from the repo root: python3 scripts/chat-template-oracle.py (needs only jinja2; 3.1.6 wrote the file).
"""
import json
from datetime import datetime
from pathlib import Path

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension, loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / 'test/fixtures/tokenizers'
SPECIAL = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']


class Generation(Extension):
    """{% generation %}...{% endgeneration %} renders its body (transformers tracks it for masks)."""
    tags = {'generation'}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(['name:endgeneration'], drop_needle=True)
        return nodes.CallBlock(self.call_method('_render'), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def render(source, now, variables):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[Generation, loopcontrols])
    env.filters['tojson'] = tojson
    env.globals['raise_exception'] = raise_exception
    env.globals['strftime_now'] = lambda fmt: now.strftime(fmt)
    return env.from_string(source).render(**variables)


def content(token):
    return token['content'] if isinstance(token, dict) else token


def fixture(name):
    config = json.loads((FIXTURES / name / 'tokenizer_config.json').read_text())
    jinja = FIXTURES / name / 'chat_template.jinja'
    source = jinja.read_text() if jinja.exists() else config['chat_template']
    tokens = {k: content(config[k]) for k in SPECIAL if config.get(k) is not None}
    tokens.update({k: content(v) for k, v in (config.get('extra_special_tokens') or {}).items()})
    return source, tokens


WEATHER = {'type': 'function', 'function': {'name': 'get_weather', 'description': "Weather for a city, 'quoted'",
           'parameters': {'type': 'object', 'properties': {'city': {'type': 'string'}}, 'required': ['city']}}}
USER = [{'role': 'user', 'content': 'Hello! How are you today?'}]
TURNS = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': '2+2?'},
         {'role': 'assistant', 'content': '<think>\nadd\n</think>\n\n4'}, {'role': 'user', 'content': 'And 3+3?'}]

FIXTURE_CASES = [
    ('qwen3', USER, None, {'enable_thinking': False}),
    ('qwen3', TURNS, None, {'enable_thinking': False}),
    ('qwen3', TURNS, [WEATHER], {'enable_thinking': True}),
    ('smollm3', USER, None, {'enable_thinking': False}),
    ('smollm3', TURNS, None, {'enable_thinking': False}),
    ('smollm3', USER, None, {'xml_tools': [WEATHER], 'enable_thinking': False}),
    ('smollm3', USER, None, {'python_tools': [WEATHER]}),
    ('llama3.2', USER, None, {'date_string': '26 Jul 2024'}),
    ('llama3.2', USER, [WEATHER], {'tools_in_user_message': False}),
    ('llama3.2', USER, None, {'custom_tools': [WEATHER]}),
]

# Inline templates: how jinja2 prints values and what strftime_now gives (Python's strftime, C locale).
# JSON has one kind of number, so a float variable is one with a fraction; 3.0 is written in the template.
VALUES = {'d': {'a': 1, 'b': [True, None, 2.5], 'c': "it's", 'e': 'say "hi"', 'f': 'back\\slash\nline'},
          'l': ['x', 1, False], 't': True, 'n': None, 'f': 0.25, 'i': 7}
TIMES = [datetime(2024, 7, 6, 9, 5, 3), datetime(2026, 12, 31, 23, 59, 58)]
INLINE_CASES = [
    ('{{ d }}|{{ l }}|{{ t }}|{{ f }}|{{ i }}|{{ 3.0 }}|{{ [1.0, false] }}', VALUES, TIMES[:1]),
    ('{{ d | string }}|{{ l | string }}|{{ t | string }}|{{ n | string }}|{{ f | string }}|{{ 3.0 | string }}', VALUES, TIMES[:1]),
    ("{{ 'x' ~ (d | string) }}|{{ (d.b | string) + '!' }}", VALUES, TIMES[:1]),
    ("{{ strftime_now('%a %A %b %B %d %e %H %I %j %m %M %p %S %y %Y %% %-d %-m %-H') }}", {}, TIMES),
]


def main():
    cases = []
    now = TIMES[0]
    for name, messages, tools, kwargs in FIXTURE_CASES:
        source, tokens = fixture(name)
        expected = render(source, now, {**tokens, **kwargs, 'messages': messages, 'tools': tools,
                                        'documents': None, 'add_generation_prompt': True})
        cases.append({'template': name, 'messages': messages, 'tools': tools, 'kwargs': kwargs,
                      'now': now.isoformat(), 'expected': expected})
    for source, kwargs, times in INLINE_CASES:
        for now in times:
            expected = render(source, now, {**kwargs, 'messages': USER, 'tools': None, 'documents': None,
                                            'add_generation_prompt': True})
            cases.append({'source': source, 'messages': USER, 'tools': None, 'kwargs': kwargs,
                          'now': now.isoformat(), 'expected': expected})
    out = {'reference': f'jinja2 {jinja2.__version__} in transformers\' chat-template environment (scripts/chat-template-oracle.py)',
           'note': 'now: the local time strftime_now reads; kwargs: extra template variables', 'cases': cases}
    (ROOT / 'test/oracles/chat-template-kwargs.json').write_text(json.dumps(out, indent=1, ensure_ascii=False) + '\n')


main()
