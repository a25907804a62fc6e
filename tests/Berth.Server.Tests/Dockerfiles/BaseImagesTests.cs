using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

public sealed class BaseImagesTests
{
    private static IReadOnlyList<BaseImage> Of(string text) => BaseImages.Of(DockerfileParser.Parse(text));

    [Fact]
    public void Of_MultiStage_SkipsScratchAndEarlierStages()
    {
        var images = Of("FROM golang:1.22 AS build\nFROM scratch\nFROM build\nFROM busybox:1.36\n");
        Assert.Equal(["golang:1.22", "busybox:1.36"], images.Select(i => i.Reference));
        Assert.Equal([1, 4], images.Select(i => i.Line));
    }

    [Fact]
    public void Of_GlobalArgs_AreSubstituted()
    {
        var images = Of("ARG BASE=debian\nARG TAG=bookworm-slim\nFROM ${BASE}:$TAG\nFROM ${OTHER:-busybox}:1\n");
        Assert.Equal(["debian:bookworm-slim", "busybox:1"], images.Select(i => i.Reference));
        Assert.All(images, i => Assert.False(i.Unresolved));
    }

    [Fact]
    public void Of_ArgWithoutDefault_IsUnresolved()
    {
        var image = Assert.Single(Of("ARG BASE\nFROM $BASE\n"));
        Assert.True(image.Unresolved);
    }

    [Theory]
    [InlineData("busybox", true)]
    [InlineData("busybox:latest", true)]
    [InlineData("localhost:5000/busybox", true)]
    [InlineData("localhost:5000/busybox:1.36", false)]
    [InlineData("busybox:1.36", false)]
    [InlineData("busybox@sha256:abc", false)]
    public void IsUnpinned_KnowsTagsDigestsAndRegistryPorts(string reference, bool unpinned) =>
        Assert.Equal(unpinned, BaseImages.IsUnpinned(reference));
}
