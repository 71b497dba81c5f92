"""The recording's compositor: where each tile goes, and what lands there."""

from __future__ import annotations

import numpy as np
from av import VideoFrame

from labkit.media.compositor import BACKGROUND, Cell, GridCompositor, Tile


def solid(colour: tuple[int, int, int], width: int = 320, height: int = 240) -> VideoFrame:
    return VideoFrame.from_ndarray(np.full((height, width, 3), colour, dtype=np.uint8), format="rgb24")


def test_the_grid_is_the_smallest_near_square_that_holds_every_tile() -> None:
    grid = GridCompositor(640, 480)
    assert grid.cells(1) == [Cell(0, 0, 640, 480)]
    assert grid.cells(2) == [Cell(0, 0, 320, 480), Cell(320, 0, 320, 480)]
    assert [(c.x, c.y) for c in grid.cells(3)] == [(0, 0), (320, 0), (0, 240)]
    assert len({(c.width, c.height) for c in grid.cells(5)}) == 1
    assert grid.cells(5)[4] == Cell(213, 240, 213, 240)  # 3 columns, 2 rows


def test_each_frame_lands_in_its_cell_and_a_tile_without_video_stays_background() -> None:
    grid = GridCompositor(640, 480)
    red, green = solid((250, 0, 0)), solid((0, 250, 0))
    picture = grid.compose([Tile("Bob", red), Tile("Carol", green), Tile("Dan", None)])
    assert picture.shape == (480, 640, 3)

    def centre(cell: Cell) -> tuple[int, ...]:
        return tuple(int(v) for v in picture[cell.y + cell.height // 2, cell.x + cell.width // 2])

    bob, carol, dan = grid.cells(3)
    assert centre(bob)[0] > 200
    assert centre(bob)[1] < 40
    assert centre(carol)[1] > 200
    assert centre(carol)[0] < 40
    assert centre(dan) == BACKGROUND


def test_a_frame_keeps_its_aspect_ratio_with_bars_in_a_wide_cell() -> None:
    grid = GridCompositor(640, 240)
    picture = grid.compose([Tile("", solid((250, 250, 250), 240, 240))])  # a square frame in a 640x240 cell
    assert tuple(int(v) for v in picture[120, 20]) == BACKGROUND  # left bar
    assert int(picture[120, 320][0]) > 200  # the frame in the middle


def test_labels_are_drawn_at_the_bottom_left_of_each_cell() -> None:
    grid = GridCompositor(640, 480)
    picture = grid.compose([Tile("Bob", None)])
    bottom_left = picture[440:472, 0:120]
    assert (bottom_left > 200).any()  # white label text
    assert not (picture[0:200, :] > 200).any()  # and nothing at the top
