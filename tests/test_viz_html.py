"""The interactive graph page (issue 20): save_html's layouts, and the page in a real browser.

The browser test drives Debian's chromium through chromedriver (``apt-get install -y chromium
chromium-driver``, which .ci/run does) with selenium; outside CI it skips when they are missing,
in CI (CI=true) it fails instead, so it cannot be skipped there unnoticed.
"""
import json
import os
import re
import shutil
import tempfile

import numpy as np
import pytest

import autodiff as ad
import nn
import nn.functional as F
from autodiff import viz, viz_html

pytest.importorskip("graphviz")
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def need_renderer():
    if viz.find_renderer() is None:
        pytest.skip("no renderer (pip install \"numpy-autodiff[viz]\" brings graphviz-pure)")


def mlp_picture(sizes=(2, 8, 8, 1), seed=0):
    ad.manual_seed(seed)
    model = nn.MLP(list(sizes), activation="tanh")
    x = ad.randn(16, sizes[0])
    loss = F.mse_loss(model(x), ad.randn(16, sizes[-1]))
    return model, ad.draw_graph(loss, params=model)


def page_data(text):
    found = re.search(r'<script id="graph-data" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def test_page_is_self_contained_and_collapses_for_real(tmp_path):
    need_renderer()
    model, picture = mlp_picture()
    path = picture.save_html(tmp_path / "graph.html")
    text = open(path, encoding="utf-8").read()
    # nothing is fetched: no external scripts, styles, images or fonts
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", text)
    assert not re.search(r"(url\(|@import|fetch\(|XMLHttpRequest)", text)
    assert not re.search(r"https?://(?!www\.w3\.org/)", text)
    data = page_data(text)
    assert data["clusters"][:3] == ["MLP", "MLP.0", "MLP.1"]
    assert data["labels"]["MLP.0"] == "0: Linear(2→8)" and data["labels"]["MLP.1"] == "1: Tanh"

    def count(svg):
        return len(re.findall(r'class="node"', svg))
    full = count(data["layouts"][""])
    one = data["layouts"]["MLP.0"]
    # the cluster's weight, bias, op and output become one node; its edges go to that node
    assert count(one) == full - 4 + 1 - 1      # (the data box x that fed only it folds in too)
    assert "0: Linear(2→8)" in one and "cluster_MLP.0" not in one
    assert count(data["layouts"]["MLP"]) < count(one)
    # layouts differ in size: the picture closes up instead of hiding nodes in place
    height = [float(re.search(r'viewBox="[\d.]+ [\d.]+ [\d.]+ ([\d.]+)"', data["layouts"][k]).group(1))
              for k in ("", "MLP.0")]
    assert height[1] < height[0]
    # hover data: every tensor of the picture, its value and gradient
    weight = next(n for n in data["nodes"].values() if n["name"] == "0.weight")
    assert weight["shape"] == [8, 2] and weight["dtype"] == "float32"
    assert viz._number(model[0].weight.data[0, 0]) in weight["value"]["text"]
    assert weight["grad"]["summary"]["norm"] > 0


def test_large_tensors_get_a_histogram():
    record = viz_html._array_record(np.arange(1000.0))
    assert sum(record["hist"]["counts"]) == 1000 and len(record["hist"]["counts"]) == 20
    assert record["summary"]["max"] == 999.0 and "text" not in record
    small = viz_html._array_record(np.array([1.5, -2.0]))
    assert small["text"] == "[1.5, -2]" and "hist" not in small
    assert viz_html._array_record(np.array([np.nan, 1.0]))["summary"]["nonfinite"] == 1


def test_collapse_states():
    states = viz_html.collapse_states(["M", "M.0", "M.1", "M.2"])
    assert "" in states and "M" in states and "M.0" in states
    # three side by side: every combination
    assert len(states) == 1 + 1 + 7 and "M.0\nM.2" in states and "M.0\nM.1\nM.2" in states
    assert viz_html._state_key(["M.0", "M", "M.1"]) == "M"            # nested ones fold into M
    many = ["M"] + [f"M.{i}" for i in range(10)]
    states = viz_html.collapse_states(many)
    level = many[1:]
    assert viz_html._state_key(level) in states                                   # all
    assert viz_html._state_key(level[:3]) in states and viz_html._state_key(level[-4:]) in states
    assert viz_html._state_key(level[:4] + level[5:]) in states                   # all but one
    assert len(states) <= viz_html._MAX_STATES


def test_save_html_needs_a_picture_from_draw_graph(tmp_path):
    graphviz = pytest.importorskip("graphviz")
    with pytest.raises(TypeError, match="draw_graph"):
        viz_html.save_html(graphviz.Digraph(), tmp_path / "x.html")


# ---- in a real browser ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(p)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("selenium (pip install \"numpy-autodiff[test]\")")
    if missing:
        message = ("the browser test needs " + ", ".join(missing) +
                   ": apt-get install -y chromium chromium-driver (as .ci/run does)")
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    profile = tempfile.mkdtemp(prefix="autodiff-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", "--window-size=1400,1000"):
        options.add_argument(flag)
    # the service path is given, so selenium never looks for (or downloads) a driver
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def visible_nodes(driver):
    from selenium.webdriver.common.by import By
    return len(driver.find_elements(By.CSS_SELECTOR, "#stage svg g.node"))


def test_page_in_a_browser(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    need_renderer()
    model, picture = mlp_picture()
    path = picture.save_html(tmp_path / "graph.html")
    browser.get("file://" + os.path.abspath(path))
    full = visible_nodes(browser)
    assert full > 10 and browser.find_element(By.ID, "node-count").text == str(full)

    # collapse module 0 from the module list: fewer nodes, and one of them is the module
    browser.find_element(By.CSS_SELECTOR, '#modules button[data-path="MLP.0"]').click()
    collapsed = visible_nodes(browser)
    assert collapsed < full
    assert any("0: Linear(2→8)" in g.text for g in browser.find_elements(By.CSS_SELECTOR, "g.node"))
    # expand it again by clicking the collapsed node itself
    node = next(g for g in browser.find_elements(By.CSS_SELECTOR, "g.node") if "0: Linear(2→8)" in g.text)
    ActionChains(browser).move_to_element(node).click().perform()
    assert visible_nodes(browser) == full
    # two modules at once (every combination of the five is laid out)
    browser.find_element(By.CSS_SELECTOR, '#modules button[data-path="MLP.0"]').click()
    browser.find_element(By.CSS_SELECTOR, '#modules button[data-path="MLP.2"]').click()
    assert visible_nodes(browser) < collapsed and browser.find_element(By.ID, "status").text == ""
    for module in ("MLP.0", "MLP.2"):
        browser.find_element(By.CSS_SELECTOR, f'#modules button[data-path="{module}"]').click()
    assert visible_nodes(browser) == full
    # collapsing the whole model leaves only the loss's ops
    browser.find_element(By.CSS_SELECTOR, '#modules button[data-path="MLP"]').click()
    assert visible_nodes(browser) < collapsed
    browser.find_element(By.CSS_SELECTOR, '#modules button[data-path="MLP"]').click()
    assert visible_nodes(browser) == full

    # hovering a tensor shows its value and gradient
    data = page_data(open(path, encoding="utf-8").read())
    bias_id = next(i for i, n in data["nodes"].items() if n["name"] == "0.bias")
    bias = browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{bias_id}"]')
    ActionChains(browser).move_to_element(bias).perform()
    info = browser.find_element(By.ID, "info").text
    assert "0.bias" in info and "shape: (8)" in info and "float32" in info
    assert "value:" in info and viz._number(model[0].bias.data[3]) in info
    assert "grad:" in info

    # a large tensor (the first layer's (16, 8) output) shows a histogram of its values
    big_id = next(i for i, n in data["nodes"].items() if n.get("shape") == [16, 8] and "value" in n)
    ActionChains(browser).move_to_element(browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{big_id}"]')).perform()
    assert browser.find_elements(By.CSS_SELECTOR, "#info .value svg.hist rect")
    assert "norm" in browser.find_element(By.ID, "info").text

    # search finds a parameter by name and marks it in the picture
    box = browser.find_element(By.ID, "search")
    box.send_keys("2.weight")
    results = browser.find_element(By.ID, "search-results").text
    assert "2.weight (8, 8)" in results
    marked = browser.find_elements(By.CSS_SELECTOR, "g.node.match")
    assert [data["nodes"][g.get_attribute("data-id")]["name"] for g in marked] == ["2.weight"]
    # a parameter inside a collapsed module is found too, and opening it reveals it
    box.clear()
    browser.find_element(By.CSS_SELECTOR, '#modules button[data-path="MLP.0"]').click()
    box.send_keys("0.weight")
    row = browser.find_element(By.CSS_SELECTOR, "#search-results div[data-id]")
    assert "collapsed module" in row.text
    row.click()
    assert visible_nodes(browser) == full
    assert browser.find_element(By.CSS_SELECTOR, "#info h3").text == "0.weight"

    # zoom and pan change the view box
    svg = browser.find_element(By.CSS_SELECTOR, "#stage svg")

    def view_box():
        return browser.execute_script("return arguments[0].getAttribute('viewBox')", svg)
    before = view_box()
    browser.find_element(By.ID, "zoom-in").click()
    zoomed = view_box()
    assert zoomed != before and float(zoomed.split()[2]) < float(before.split()[2])
    ActionChains(browser).move_to_element(svg).click_and_hold().move_by_offset(60, 40).release().perform()
    assert view_box().split()[:2] != zoomed.split()[:2]
