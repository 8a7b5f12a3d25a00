from engine.layout import COLUMN, ROW, layered_layout
from engine.templates import list_templates, load_template


def test_no_two_blocks_share_a_place_in_any_template():
    for t in list_templates():
        for g in load_template(t).graphs.values():
            pos = layered_layout(g)
            assert len(set(pos.values())) == len(pos), t


def test_long_chains_wrap_into_bands_and_flow_left_to_right():
    g = load_template("lenet5").graphs["model"]
    pos = layered_layout(g, max_columns=5)
    xs = {x for x, _ in pos.values()}
    assert max(xs) == 4 * COLUMN  # five columns at most
    ys = sorted({y for _, y in pos.values()})
    assert len(ys) == 3 and ys[1] - ys[0] >= ROW  # 14 blocks in bands of 5
    for e in g.edges:
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        assert x1 > x0 or y1 > y0  # forward within a band, or on to the next band


def test_branches_get_their_own_rows():
    g = load_template("resnetmini").graphs["model"]
    pos = layered_layout(g, max_columns=100)
    assert pos["b2_short"][1] != pos["b2_conv1"][1]
