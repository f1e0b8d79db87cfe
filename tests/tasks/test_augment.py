"""Unit tests of grokutils.tasks.augment: rotation, Gaussian blur and their random composition."""
import pytest
import torch

from grokutils.tasks.augment import SIDE, blur, gaussian_kernels, random_augment, rotate


def random_images(*leading: int, seed: int = 0) -> torch.Tensor:
    """Float32 rows of 784 uniform pixels in [0, 1] with the given leading dims."""
    return torch.rand(*leading, SIDE * SIDE, generator=torch.Generator().manual_seed(seed))


def dot(row: int, col: int, value: float = 1.0) -> torch.Tensor:
    """One 784-pixel row, zero but for ``value`` at (row, col)."""
    image = torch.zeros(SIDE, SIDE)
    image[row, col] = value
    return image.flatten()


def brightest(image: torch.Tensor) -> tuple[int, int]:
    """(row, column) of the brightest pixel of a 784-pixel row."""
    return divmod(int(image.argmax()), SIDE)


def test_rotate_by_zero_is_the_identity():
    images = random_images(3, 4)
    out = rotate(images, torch.zeros(3, 4))
    assert out.shape == images.shape and out.dtype == images.dtype
    torch.testing.assert_close(out, images, atol=1e-6, rtol=0)


def test_rotate_by_90_turns_counter_clockwise_as_drawn():
    # (10, 20) is 3.5 rows above and 6.5 columns right of the centre (13.5, 13.5); a quarter turn
    # counter-clockwise on screen takes it to 6.5 rows above and 3.5 columns left: row 27 - c, column r.
    out = rotate(dot(10, 20), torch.tensor(90.0))
    assert brightest(out) == (7, 10)
    torch.testing.assert_close(out, dot(7, 10), atol=1e-5, rtol=0)
    assert brightest(rotate(dot(13, 25), torch.tensor(90.0))) == (2, 13)  # right of centre goes up
    assert brightest(rotate(dot(10, 20), torch.tensor(-90.0))) == (20, 17)  # and clockwise for negative


def test_rotate_four_quarter_turns_and_two_half_turns_return_the_image():
    images = random_images(5)
    out = images
    for _ in range(4):
        out = rotate(out, torch.tensor(90.0))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)
    out = rotate(rotate(images, torch.tensor(180.0)), torch.tensor(180.0))
    torch.testing.assert_close(out, images, atol=1e-5, rtol=0)


def test_rotate_per_image_angles_match_rotating_each_alone():
    images = random_images(2, 3)
    degrees = torch.tensor([[0.0, 17.0, -45.0], [90.0, 133.0, -170.0]])
    out = rotate(images, degrees)
    for i in range(2):
        for j in range(3):
            torch.testing.assert_close(out[i, j], rotate(images[i, j], degrees[i, j]), atol=1e-6, rtol=0)
    torch.testing.assert_close(rotate(images, 30.0), rotate(images, torch.full((2, 3), 30.0)))


def test_rotate_rejects_rows_that_are_not_784_pixels():
    with pytest.raises(ValueError, match="784"):
        rotate(torch.zeros(2, 100), torch.zeros(2))


def test_gaussian_kernels_are_normalised_symmetric_and_delta_at_zero():
    kernels = gaussian_kernels(torch.tensor([0.0, 0.5, 2.0]), radius=4)
    assert kernels.shape == (3, 9)
    torch.testing.assert_close(kernels.sum(-1), torch.ones(3))
    torch.testing.assert_close(kernels, kernels.flip(-1))
    assert torch.equal(kernels[0], torch.eye(9)[4])
    assert kernels[2, 4] < kernels[1, 4] and (kernels[2].diff()[:4] > 0).all()


def test_blur_with_sigma_zero_is_exactly_the_identity():
    images = random_images(2, 3)
    assert torch.equal(blur(images, torch.zeros(2, 3)), images)
    assert torch.equal(blur(images, 0.0, radius=3), images)


def test_blur_with_tiny_sigma_is_the_identity():
    images = random_images(4)
    torch.testing.assert_close(blur(images, torch.full((4,), 1e-3)), images, atol=1e-6, rtol=0)


def test_blur_preserves_mass_away_from_the_border():
    image = torch.zeros(SIDE, SIDE)
    image[10:18, 11:16] = random_images(8, 5)[..., 0]
    image = image.flatten()
    out = blur(image, torch.tensor(1.5))
    assert out.shape == image.shape and out.dtype == image.dtype
    torch.testing.assert_close(out.sum(), image.sum(), atol=1e-5, rtol=0)


def test_blur_spreads_a_single_pixel_symmetrically():
    out = blur(dot(14, 14), torch.tensor(1.0)).reshape(SIDE, SIDE)
    assert 0 < out[14, 14] < 1
    neighbours = torch.stack([out[13, 14], out[15, 14], out[14, 13], out[14, 15]])
    assert (neighbours > 0).all() and (neighbours < out[14, 14]).all()
    torch.testing.assert_close(neighbours, neighbours[:1].expand(4), atol=1e-7, rtol=0)
    window = out[11:18, 11:18]  # radius ceil(3 * 1.0) = 3 around the pixel
    for mirrored in (window.flip(0), window.flip(1), window.T):
        torch.testing.assert_close(window, mirrored, atol=1e-7, rtol=0)
    torch.testing.assert_close(window.sum(), torch.tensor(1.0))


def test_blur_per_image_sigmas_match_blurring_each_alone():
    images = random_images(2, 3)
    sigmas = torch.tensor([[0.0, 0.5, 1.0], [1.5, 2.0, 0.25]])
    out = blur(images, sigmas)
    for i in range(2):
        for j in range(3):
            alone = blur(images[i, j], sigmas[i, j], radius=6)  # the batch's radius: ceil(3 * 2.0)
            torch.testing.assert_close(out[i, j], alone, atol=1e-6, rtol=0)


def test_random_augment_is_reproducible_from_the_seed():
    images = random_images(2, 3)

    def augment(seed):
        return random_augment(images, torch.Generator().manual_seed(seed), max_degrees=30, max_sigma=1.0)

    first = augment(0)
    assert first.shape == images.shape and first.dtype == images.dtype
    assert torch.equal(first, augment(0))
    assert not torch.allclose(first, augment(1))
    assert not torch.allclose(first, images)


def test_random_augment_with_zero_ranges_returns_the_images():
    images = random_images(2, 3)
    out = random_augment(images, torch.Generator().manual_seed(0), max_degrees=0, max_sigma=0.0)
    assert torch.equal(out, images)


@pytest.mark.parametrize("name, max_degrees, max_sigma", [
    ("max_degrees", -1, 1.0), ("max_degrees", 181, 1.0), ("max_degrees", float("nan"), 1.0),
    ("max_sigma", 10, -0.5),
])
def test_random_augment_rejects_bad_ranges(name, max_degrees, max_sigma):
    with pytest.raises(ValueError, match=name):
        random_augment(random_images(2), torch.Generator().manual_seed(0), max_degrees, max_sigma)
