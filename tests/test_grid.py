import numpy as np

from s2mask.grid import Grid, Window, count_blocks, iter_blocks


def test_blocks_cover_the_grid_once_and_halos_stay_inside():
    grid = Grid("", 300000, 4900020, 20, 130, 97)
    seen = np.zeros(grid.shape, dtype=int)
    blocks = list(iter_blocks(grid, 32, halo=5))
    assert len(blocks) == count_blocks(grid, 32)
    for block in blocks:
        seen[block.core.slices] += 1
        outer = block.outer
        assert outer.row >= 0 and outer.col >= 0
        assert outer.row + outer.height <= grid.height and outer.col + outer.width <= grid.width
        inner = block.core_in_outer
        assert inner[0].stop - inner[0].start == block.core.height
    assert (seen == 1).all()


def test_grids_of_a_tile_nest_exactly():
    grid10 = Grid("", 300000, 4900020, 10, 10980, 10980)
    grid60 = grid10.at_resolution(60)
    assert grid60.shape == (1830, 1830)
    assert grid60.geotransform == (300000, 60, 0, 4900020, 0, -60)
    sub = grid10.subgrid(Window(20, 10, 5, 5))
    assert (sub.x0, sub.y0) == (300100, 4899820)
