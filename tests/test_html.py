"""``--format html``: one self-contained page that parses and holds the profile's figures."""

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
        self.scripts: list[str] = []
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
        if tag == "section":
            self._section = dict(attrs)["id"]
            self.sections[self._section] = []
            self.rows[self._section] = []
        elif tag == "tr":
            self._row = []
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
    widths = [a["style"] for tag, a in conv_bias_page.attrs if a.get("class") == "fill"]
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


def test_every_name_is_escaped():
    """Op types and node names come from the file: nothing in them may become markup."""
    g = proto.GraphDef()
    x = g.node.add(name="x", op="Placeholder")
    x.attr["dtype"].type = proto.DATA_TYPES["DT_FLOAT"]
    x.attr["shape"].shape.dim.add(size=2)
    evil = g.node.add(name="a&b>c", op="<script>alert(1)</script>")
    evil.input.append("x")
    text = render(tfflops.profile(g, tfprof=False), "html")
    assert "<script>alert" not in text
    page = Page(text)
    assert_self_contained(page)
    row = next(r for r in page.rows["nodes"] if r[0] == "a&b>c")
    assert row[1] == "<script>alert(1)</script>"
    assert row[8] == "unsupported"
    assert "<script>alert(1)</script> ×1" in page.text("findings")
    assert "<h1>&lt;GraphDef&gt;</h1>" in text  # the model's name is escaped too


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
