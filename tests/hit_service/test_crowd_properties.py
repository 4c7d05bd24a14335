"""Crowd HTML Elements as real custom elements, driven from script in Chromium.

Every attribute AWS's element reference documents is a property reflected both ways (setting the
property sets the attribute; setting the attribute changes the property), including the live
``value`` and ``checked``; what a script sets changes what the worker sees and what is posted.
An element this site lacks blocks Submit. One browser and one tab for the module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.hit_service.browser import DESKTOP, Offline, chromium
from tests.hit_service.crowd_site import CrowdSite, crowd_site

__all__ = ["chromium"]  # a fixture
SCRIPT = '<script src="https://assets.crowd.aws/crowd-html-elements.js"></script>'

# element → {attribute: kind}; kinds as in base.js's reflect(): bool, string, number, json.
COMMON = {"name": "string", "disabled": "bool", "required": "bool"}
TEXT = {
    "label": "string",
    "placeholder": "string",
    "error-message": "string",
    "allowed-pattern": "string",
    "max-length": "number",
    "min-length": "number",
    "auto-focus": "bool",
    "auto-validate": "bool",
    "value": "string",
}
DRAWING = {"header": "string", "src": "string", "labels": "json", "initial-value": "json"}
DOCUMENTED: dict[str, dict[str, str]] = {
    "crowd-alert": {"dismissible": "bool", "type": "string"},
    "crowd-badge": {"for": "string", "icon": "string", "label": "string"},
    "crowd-bounding-box": DRAWING,
    "crowd-button": {
        "disabled": "bool",
        "form-action": "string",
        "href": "string",
        "icon": "string",
        "icon-align": "string",
        "icon-url": "string",
        "loading": "bool",
        "target": "string",
        "variant": "string",
    },
    "crowd-card": {"heading": "string", "image": "string"},
    "crowd-checkbox": {**COMMON, "checked": "bool", "value": "string"},
    "crowd-classifier": {"categories": "json", "header": "string", "name": "string"},
    "crowd-classifier-multi-select": {
        "categories": "json",
        "header": "string",
        "name": "string",
        "exclusion-category": "json",
    },
    "crowd-entity-annotation": {
        "header": "string",
        "initial-value": "json",
        "labels": "json",
        "name": "string",
        "text": "string",
    },
    "crowd-fab": {"disabled": "bool", "icon": "string", "label": "string", "title": "string"},
    "crowd-icon-button": {"disabled": "bool", "icon": "string"},
    "crowd-image-classifier": {
        "categories": "json",
        "header": "string",
        "name": "string",
        "overlay": "json",
        "src": "string",
    },
    "crowd-image-classifier-multi-select": {
        "categories": "json",
        "header": "string",
        "name": "string",
        "src": "string",
        "exclusion-category": "json",
    },
    "crowd-input": {**COMMON, **TEXT, "type": "string"},
    "crowd-instance-segmentation": {"header": "string", "labels": "json", "name": "string", "src": "string"},
    "crowd-instructions": {"link-text": "string", "link-type": "string"},
    "crowd-keypoint": DRAWING,
    "crowd-line": {**DRAWING, "label-colors": "json", "name": "string"},
    "crowd-modal": {"link-text": "string", "link-type": "string"},
    "crowd-polygon": {**DRAWING, "name": "string"},
    "crowd-polyline": {**DRAWING, "label-colors": "json", "name": "string"},
    "crowd-radio-button": {"checked": "bool", "disabled": "bool", "name": "string", "value": "string"},
    "crowd-semantic-segmentation": {**DRAWING, "name": "string"},
    "crowd-slider": {
        "disabled": "bool",
        "editable": "bool",
        "max": "number",
        "min": "number",
        "name": "string",
        "pin": "bool",
        "required": "bool",
        "secondary-progress": "number",
        "step": "number",
        "value": "number",
    },
    "crowd-tab": {"header": "string"},
    "crowd-text-area": {**COMMON, **TEXT, "char-counter": "bool", "max-rows": "number", "rows": "number"},
    "crowd-toast": {"duration": "number", "text": "string"},
    "crowd-toggle-button": {**COMMON, "checked": "bool", "invalid": "bool", "value": "string"},
}
SAMPLES = {"bool": (True, False), "string": ("alpha", "beta"), "number": (3, 7), "json": (["A", "B"], ["C"])}

# Runs in the page: for each documented attribute, property → attribute and attribute → property.
CHECK_ALL = """(documented) => {
  const camel = (a) => a.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  const samples = %s;
  const failures = [];
  for (const [tag, attrs] of Object.entries(documented)) {
    const el = document.querySelector(tag);
    if (!el) { failures.push(tag + ": not on the page"); continue; }
    for (const [attr, kind] of Object.entries(attrs)) {
      const prop = camel(attr);
      const [one, two] = samples[kind];
      try {
        el[prop] = one;
        const got = el.getAttribute(attr);
        const want = kind === "bool" ? "" : kind === "json" ? JSON.stringify(one) : String(one);
        if (got !== want) failures.push(`${tag}.${prop} = ${JSON.stringify(one)} → attribute ${JSON.stringify(got)}`);
        if (kind === "bool") {
          el[prop] = false;
          if (el.hasAttribute(attr)) failures.push(`${tag}.${prop} = false left the attribute`);
          el.setAttribute(attr, "");
          if (el[prop] !== true) failures.push(`${tag}: attribute ${attr} → property ${el[prop]}`);
          el.removeAttribute(attr);
          if (el[prop] !== false) failures.push(`${tag}: removing ${attr} → property ${el[prop]}`);
        } else {
          el.setAttribute(attr, kind === "json" ? JSON.stringify(two) : String(two));
          const back = el[prop];
          const same = kind === "json" ? JSON.stringify(back) === JSON.stringify(two) : String(back) === String(two);
          const shown = `${attr}=${JSON.stringify(two)} → property ${JSON.stringify(back)}`;
          if (!same) failures.push(`${tag}: attribute ${shown}`);
        }
      } catch (error) {
        failures.push(`${tag}.${prop}: ${error}`);
      }
    }
  }
  return failures;
}"""

EVERY_ELEMENT = "\n".join(
    f'<{tag} name="n-{i}">{"<crowd-tab header=x>t</crowd-tab>" if tag == "crowd-tabs" else ""}</{tag}>'
    for i, tag in enumerate([*DOCUMENTED, "crowd-tabs"])
)


@pytest.fixture(scope="module")
def site() -> Iterator[CrowdSite]:
    with crowd_site() as running:
        yield running


@pytest.fixture(scope="module")
def tab(chromium: Any, site: CrowdSite) -> Iterator[Any]:
    """One tab for the module; each test opens its own page in it."""
    offline = Offline(site.url)
    context = chromium.new_context(viewport=DESKTOP)
    context.route("**/*", offline.route)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()
    assert not offline.blocked, offline.blocked


def open_page(tab: Any, site: CrowdSite, name: str, body: str) -> None:
    site.add_page(name, f"<!doctype html><meta charset='utf-8'>{SCRIPT}<body>{body}</body>")
    tab.errors.clear()
    tab.goto(site.task_url(name))
    tab.wait_for_function("window.__hitflowCrowdReady === true")


def answers(tab: Any, site: CrowdSite) -> dict[str, Any]:
    before = len(site.posts)
    tab.get_by_role("button", name="Submit").click()
    (answer,) = site.task_answers(before + 1, page=tab)
    return answer


def test_every_documented_attribute_is_a_property_both_ways(tab: Any, site: CrowdSite) -> None:
    open_page(tab, site, "props", f"<crowd-form>{EVERY_ELEMENT}</crowd-form>")
    failures = tab.evaluate(CHECK_ALL % json.dumps(SAMPLES), DOCUMENTED)
    assert failures == [], "\n".join(failures)
    assert tab.errors == []


def test_checkboxes_a_script_enables_are_answered(tab: Any, site: CrowdSite) -> None:
    """The issue's template: checkboxes start disabled; the template's script enables them."""
    open_page(
        tab,
        site,
        "enable",
        """<crowd-form>
        <label><input type="radio" name="toxicity" value="toxic" id="toxic"> Toxic</label>
        <crowd-checkbox name="kind" value="hate" disabled>Hate</crowd-checkbox>
        <crowd-checkbox name="kind" value="other" disabled>Other</crowd-checkbox>
        </crowd-form>
        <script>document.getElementById('toxic').addEventListener('change',
          () => document.querySelectorAll('crowd-checkbox').forEach((el) => (el.disabled = false)));</script>""",
    )
    hate = tab.get_by_role("checkbox", name="Hate")
    assert hate.is_disabled()
    tab.locator("#toxic").check()
    assert not hate.is_disabled()
    hate.click()
    assert answers(tab, site) == {"toxicity": {"toxic": True}, "kind": {"hate": True, "other": False}}


def test_value_and_checked_set_from_script(tab: Any, site: CrowdSite) -> None:
    open_page(
        tab,
        site,
        "values",
        """<crowd-form>
        <crowd-input name="word" label="Word"></crowd-input>
        <crowd-text-area name="note" label="Note"></crowd-text-area>
        <crowd-checkbox name="agree" value="yes">Agree</crowd-checkbox>
        <crowd-toggle-button name="loud" value="on">Loud</crowd-toggle-button>
        <crowd-radio-group><crowd-radio-button name="a" value="a">A</crowd-radio-button>
          <crowd-radio-button name="b" value="b">B</crowd-radio-button></crowd-radio-group>
        <crowd-slider name="level" min="0" max="10"></crowd-slider>
        </crowd-form>""",
    )
    state = tab.evaluate(
        """() => {
        const $ = (s) => document.querySelector(s);
        $('crowd-input').value = 'typed by script';
        $('crowd-text-area').setAttribute('value', 'from the attribute');
        $('crowd-checkbox').checked = true;
        $('crowd-toggle-button').setAttribute('checked', '');
        $('crowd-radio-button[value=b]').checked = true;
        $('crowd-slider').value = 7;
        return {
          inputAttr: $('crowd-input').getAttribute('value'),
          areaProp: $('crowd-text-area').value,
          checkboxAttr: $('crowd-checkbox').hasAttribute('checked'),
          toggleProp: $('crowd-toggle-button').checked,
          sliderAttr: $('crowd-slider').getAttribute('value'),
        };
      }"""
    )
    assert state == {
        "inputAttr": "typed by script",
        "areaProp": "from the attribute",
        "checkboxAttr": True,
        "toggleProp": True,
        "sliderAttr": "7",
    }
    # What the worker sees follows the script.
    assert tab.get_by_label("Word").input_value() == "typed by script"
    assert tab.get_by_role("checkbox", name="Agree").get_attribute("aria-checked") == "true"
    assert tab.get_by_role("radio", name="B").get_attribute("aria-checked") == "true"
    # And a click by the worker shows in the property and the attribute.
    tab.get_by_role("checkbox", name="Agree").click()
    box = "document.querySelector('crowd-checkbox')"
    assert tab.evaluate(f"[{box}.checked, {box}.hasAttribute('checked')]") == [False, False]
    assert answers(tab, site) == {
        "word": "typed by script",
        "note": "from the attribute",
        "agree": {"yes": False},
        "loud": {"on": True},
        "a": {"a": False},
        "b": {"b": True},
        "level": 7,
    }


def test_changed_attributes_change_what_is_shown(tab: Any, site: CrowdSite) -> None:
    open_page(
        tab,
        site,
        "rerender",
        """<crowd-form><crowd-classifier name="c" categories="['x', 'y']" header="Old header"></crowd-classifier>
        <crowd-button id="b">Go</crowd-button></crowd-form>""",
    )
    tab.evaluate(
        """() => { const c = document.querySelector('crowd-classifier');
        c.categories = ['Cat', 'Dog']; c.header = 'Which animal?';
        document.getElementById('b').disabled = true; }"""
    )
    assert tab.get_by_text("Which animal?").is_visible()
    assert tab.get_by_role("radio", name="y").count() == 0
    assert tab.get_by_role("button", name="Go").is_disabled()
    tab.get_by_role("radio", name="Dog").click()
    assert answers(tab, site) == {"c": {"label": "Dog"}}


def test_an_element_this_site_lacks_blocks_submit(tab: Any, site: CrowdSite) -> None:
    open_page(
        tab,
        site,
        "unknown",
        "<crowd-form><crowd-text-ranking name='rank'></crowd-text-ranking>"
        "<crowd-input name='a' label='A' value='1'></crowd-input></crowd-form>",
    )
    before = len(site.posts)
    tab.get_by_role("button", name="Submit").click()
    message = tab.locator(".crowd-form-message")
    message.wait_for()
    assert "<crowd-text-ranking>: this site does not support this element yet" in message.inner_text()
    tab.wait_for_timeout(300)
    assert len(site.posts) == before
