"""``--format html``: one self-contained page that parses, holds the profile's figures and
is made for exploring (largest first, toggles, a filter, findings flagged, three charts)."""

import os
from html.parser import HTMLParser
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

import tfflops
from tfflops.cli import main
from tfflops.graph import proto
from tfflops.reports.profile import render

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_graphs"
VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}


class Page(HTMLParser):
    """Collects what the tests look at, and checks that every tag is closed in order."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.attrs, self.errors = [], [], [], []
        self.sections: dict[str, list[str]] = {}
        self.rows: dict[str, list[list[str]]] = {}  # section id → table rows (cell texts)
        self.row_classes: dict[str, list[str]] = {}  # section id → each row's class
        self.section_attrs: dict[str, list[tuple[str, dict]]] = {}  # the tags inside each
        self.scripts: list[str] = []
        self.style = ""
        self._section, self._row, self._cell = None, None, None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append(f"unclosed: {self.stack}")

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)
        if self._section:
            self.section_attrs[self._section].append((tag, dict(attrs)))
        if tag == "section":
            self._section = dict(attrs)["id"]
            self.sections[self._section] = []
            self.rows[self._section] = []
            self.row_classes[self._section] = []
            self.section_attrs[self._section] = []
        elif tag == "tr":
            self._row = []
            if self._section:
                self.row_classes[self._section].append(dict(attrs).get("class", ""))
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "script":
            self.scripts.append("")

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._section:
            self.rows[self._section].append(self._row)
            self._row = None
        elif tag == "section":
            self._section = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._section:
            self.sections[self._section].append(data)
        if self.stack and self.stack[-1] == "script":
            self.scripts[-1] += data
        if self.stack and self.stack[-1] == "style":
            self.style += data

    def text(self, section: str) -> str:
        return "".join(self.sections[section])


def assert_self_contained(page: Page):
    assert page.errors == []
    assert "link" not in page.tags and "iframe" not in page.tags and "img" not in page.tags
    for tag, attrs in page.attrs:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
    assert len(page.scripts) == 1  # the table sorter, inline


@pytest.fixture(scope="module")
def conv_bias_page() -> Page:
    p = tfflops.profile(SAMPLES / "conv_bias.pb", tfprof=False)
    text = render(p, "html")
    assert "http://" not in text and "https://" not in text and "url(" not in text
    return Page(text)


def test_page_is_self_contained(conv_bias_page):
    assert_self_contained(conv_bias_page)
    assert conv_bias_page.tags[:2] == ["html", "head"]


def test_totals(conv_bias_page):
    totals = dict(conv_bias_page.rows["totals"])
    assert totals["FLOPs (tfprof)"] == "450,560 (450.56 K)"  # 2*3*3*3*32*32*8 + 32*32*8
    assert totals["params"] == "224"  # 3*3*3*8 + 8
    assert totals["bytes moved"] == "177,024 (177.02 K)"  # 45920 + 65568 + 65536
    assert totals["tf.profiler FLOPs"] == "not run (--no-tfprof)"


def test_bar_chart_of_flops_by_op_type(conv_bias_page):
    header, *rows = conv_bias_page.rows["by-op"]
    assert header[3] == "FLOPs"
    assert [(r[0], r[1], r[3], r[4]) for r in rows] == [
        ("Conv2D", "1", "442,368", "98.2"),  # 2*3*3*3*32*32*8; 442368/450560
        ("BiasAdd", "1", "8,192", "1.8"),  # 32*32*8
    ]
    bars = conv_bias_page.section_attrs["by-op"]
    widths = [a["style"] for tag, a in bars if a.get("class") == "fill"]
    assert widths == ["width:100.00%", "width:1.85%"]  # 8192/442368 = 1.852%


def test_node_table(conv_bias_page):
    header, *rows = conv_bias_page.rows["nodes"]
    assert header == [
        "node",
        "op",
        "phase",
        "FLOPs",
        "tf.profiler FLOPs",
        "params",
        "bytes",
        "output shapes",
        "status",
        "note",
    ]
    by_name = {r[0]: r for r in rows}
    assert sorted(by_name) == ["bias", "bias_add", "conv", "filter", "output", "x"]
    assert by_name["conv"][1:8] == [
        "Conv2D",
        "inference",
        "442,368",
        "-",
        "216",  # 3*3*3*8
        "45,920",  # 4*(1*32*32*3 + 3*3*3*8 + 1*32*32*8)
        "[1, 32, 32, 8]",
    ]
    assert by_name["conv"][8] == "explained"
    assert by_name["output"][3] == "0"  # Relu: 0 under tfprof
    # the numeric cells carry raw integers for the sorter
    values = [a["data-value"] for tag, a in conv_bias_page.attrs if "data-value" in a]
    assert "442368" in values and "8192" in values


def test_findings(conv_bias_page):
    text = conv_bias_page.text("findings")
    assert "Nodes by status: 6 explained." in text
    # tf.profiler did not run: the note is about the convention, its figure under full
    assert (
        "the tfprof convention counts 0, as tf.profiler does, for: Relu (8,192) — their "
        "FLOPs under --convention full" in text
    )
    assert "input x: unknown batch dimension set to 1" in text


def test_seed_with_tf_profiler():
    """Un-frozen seed: tf.profiler's 8288 and the 1088 FLOPs of initializers explained."""
    page = Page(render(tfflops.profile(SAMPLES / "seed_refvars.pb", outputs="output"), "html"))
    assert_self_contained(page)
    totals = dict(page.rows["totals"])
    assert totals["FLOPs (tfprof)"] == "7,200 (7.20 K)"  # 2*25*16*9
    assert totals["tf.profiler FLOPs"] == "8,288 (8.29 K)"  # 7200 + 400 + 400 + 144 + 144
    assert totals["init-phase FLOPs"] == "1,088 (1.09 K)"
    assert "Nodes by status: 20 match." in page.text("findings")
    assert "includes 1088 FLOPs of 4 initializer node(s)" in page.text("findings")
    output = next(r for r in page.rows["nodes"] if r[0] == "output")
    assert output[3:5] == ["7,200", "7,200"]


def test_macs_are_labelled_macs():
    page = Page(
        render(tfflops.profile(SAMPLES / "conv_bias.pb", convention="macs", tfprof=False), "html")
    )
    assert dict(page.rows["totals"])["MACs (macs)"] == "221,184 (221.18 K)"  # 3*3*3*32*32*8
    assert page.rows["by-op"][0][3] == "MACs"
    assert page.rows["nodes"][0][3] == "MACs"
    assert "FLOPs by op type" not in page.text("by-op")


def _hostile_graph() -> proto.GraphDef:
    """x[2] → an op type and node names that would be markup, or break out of an attribute."""
    g = proto.GraphDef()
    x = g.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
    x.attr["shape"].shape.dim.add(size=2)
    evil = g.node.add(name="a&b>c", op="<script>alert(1)</script>")
    evil.input.append("x")
    script = g.node.add(name="<script>alert(1)</script>", op="Relu")
    script.input.append("x")
    script.attr["T"].type = proto.DATA_TYPES["DT_FLOAT"]
    quotes = g.node.add(name="q\"uo'te", op="Neg")
    quotes.input.append("<script>alert(1)</script>")
    quotes.attr["T"].type = proto.DATA_TYPES["DT_FLOAT"]
    return g


def test_every_name_is_escaped():
    """Op types and node names come from the file: nothing in them may become markup."""
    text = render(tfflops.profile(_hostile_graph(), tfprof=False), "html")
    assert "<script>alert" not in text
    assert "q\"uo'te" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = Page(text)
    assert_self_contained(page)
    row = next(r for r in page.rows["nodes"] if r[0] == "a&b>c")
    assert row[1] == "<script>alert(1)</script>"
    assert row[8] == "unsupported"
    names = {r[0] for r in page.rows["nodes"][1:]}
    assert names == {"x", "a&b>c", "<script>alert(1)</script>", "q\"uo'te"}
    assert "<script>alert(1)</script> ×1" in page.text("findings")
    assert "<h1>&lt;GraphDef&gt;</h1>" in text  # the model's name is escaped too


def test_nodes_come_largest_first(conv_bias_page):
    rows = conv_bias_page.rows["nodes"][1:]
    # conv 442,368 FLOPs, bias_add 8,192; then the rest (0 FLOPs, 0 params) by name
    assert [r[0] for r in rows] == ["conv", "bias_add", "bias", "filter", "output", "x"]
    ths = [a for tag, a in conv_bias_page.section_attrs["nodes"] if tag == "th"]
    assert [a.get("aria-sort") for a in ths][3] == "descending"  # the FLOPs column


def test_nodes_that_cost_nothing_are_hidden_by_a_toggle(conv_bias_page):
    classes = dict(
        zip([r[0] for r in conv_bias_page.rows["nodes"]], conv_bias_page.row_classes["nodes"])
    )
    assert [n for n, c in classes.items() if c == "zero"] == ["bias", "filter", "output", "x"]
    inputs = {a["id"]: a for tag, a in conv_bias_page.section_attrs["nodes"] if tag == "input"}
    assert inputs["show-zero"]["type"] == "checkbox" and "checked" not in inputs["show-zero"]
    assert "show the 4 node(s) that cost nothing" in conv_bias_page.text("nodes")
    # The toggle is CSS: it works without the script.
    style = conv_bias_page.style
    assert "#show-zero:not(:checked) ~ table tr.zero { display: none; }" in style


def test_a_filter_box_a_sticky_header_and_shapes_on_one_line(conv_bias_page):
    inputs = {a["id"]: a for tag, a in conv_bias_page.section_attrs["nodes"] if tag == "input"}
    assert inputs["filter"]["type"] == "search"
    assert 'getElementById("filter")' in conv_bias_page.scripts[0]
    assert "position: sticky" in conv_bias_page.style
    assert "td.shape { white-space: nowrap;" in conv_bias_page.style
    shapes = [a for tag, a in conv_bias_page.section_attrs["nodes"] if a.get("class") == "shape"]
    assert shapes[0]["title"] == "[1, 32, 32, 8]"  # conv's, in full where it is cut short


def test_findings_are_flagged_in_the_table():
    page = Page(render(tfflops.profile(_hostile_graph(), tfprof=False), "html"))
    classes = dict(zip([r[0] for r in page.rows["nodes"]], page.row_classes["nodes"]))
    # The op without a formula costs 0 FLOPs, yet it is a finding, never hidden as "zero".
    assert classes["a&b>c"] == "finding unsupported"
    assert classes["x"] == "zero"
    assert "only the 1 finding(s): mismatch, unsupported" in page.text("nodes")
    assert "#only-findings:checked ~ table tbody tr:not(.finding)" in page.style


def test_params_and_bytes_charts(conv_bias_page):
    radios = [a for tag, a in conv_bias_page.attrs if a.get("name") == "chart"]
    assert [(a["id"], "checked" in a) for a in radios] == [
        ("chart-flops", True),
        ("chart-params", False),
        ("chart-bytes", False),
    ]
    header, *rows = conv_bias_page.rows["by-op-params"]
    assert header[3] == "params"
    # conv 3*3*3*8 = 216, bias 8: 216/224 = 96.4%, 8/224 = 3.6%
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("Conv2D", "216", "96.4"),
        ("BiasAdd", "8", "3.6"),
    ]
    header, *rows = conv_bias_page.rows["by-op-bytes"]
    assert header[3] == "bytes moved"
    # bias_add 32768 + 32 + 32768 = 65,568; relu 2*32768 = 65,536; conv 45,920
    # of 177,024: 37.04%, 37.02%, 25.94%
    assert [(r[0], r[3], r[4]) for r in rows] == [
        ("BiasAdd", "65,568", "37.0"),
        ("Relu", "65,536", "37.0"),
        ("Conv2D", "45,920", "25.9"),
    ]
    # One chart at a time, picked with CSS.
    assert "#chart-params:checked ~ #by-op-params" in conv_bias_page.style


def test_cli_writes_the_page(tmp_path, capsys):
    out = tmp_path / "report.html"
    code = main(
        [
            "profile",
            str(SAMPLES / "depthwise_separable.pb"),
            "--no-tfprof",
            "--format",
            "html",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    assert capsys.readouterr() == ("", "")
    page = Page(out.read_text(encoding="utf-8"))
    assert_self_contained(page)
    # depthwise 2*3*3*8*32*32 = 147456 + pointwise 2*8*16*32*32 = 262144
    assert dict(page.rows["totals"])["FLOPs (tfprof)"] == "409,600 (409.60 K)"
