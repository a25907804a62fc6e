using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

public sealed class BaseImagesTests
{
    private static IReadOnlyList<BaseImage> Of(string text) => BaseImages.Of(DockerfileParser.Parse(text));

    private static ImageSource Source(string text) => ImageSources.Of(DockerfileParser.Parse(text))[^1];

    [Fact]
    public void Of_MultiStage_ReturnsNormalizedImagesOnce_NotScratchOrStages()
    {
        var images = Of("FROM golang:1.22 AS build\nFROM scratch\nFROM BUILD\nCOPY --from=0 /a /b\nCOPY --from=busybox /bin/sh /sh\nFROM busybox:latest\n");

        Assert.Equal(
            [new BaseImage(1, "docker.io/library/golang:1.22", false, true), new BaseImage(5, "docker.io/library/busybox:latest", false, true)],
            images);
    }

    [Fact]
    public void Of_ImageOnlyUsedByCopyFrom_RunsNoTriggers()
    {
        var image = Assert.Single(Of("FROM scratch\nCOPY --from=debian:bookworm-slim /etc/os-release /x\n"));

        Assert.Equal("docker.io/library/debian:bookworm-slim", image.Reference);
        Assert.False(image.RunsTriggers);
    }

    [Fact]
    public void Of_GlobalArgs_AreSubstituted()
    {
        var images = Of("ARG BASE=debian\nARG TAG=bookworm-slim\nFROM ${BASE}:$TAG\nARG BASE=ignored\nFROM $BASE\n");

        Assert.Equal(["docker.io/library/debian:bookworm-slim", "docker.io/library/debian:latest"], images.Select(i => i.Reference));
        Assert.All(images, i => Assert.False(i.Unresolved));
    }

    [Theory]
    [InlineData("ARG BASE\nFROM $BASE\n", "has no default value")]
    [InlineData("ARG BASE=busybox\nARG BASE\nFROM $BASE\n", "has no default value")]
    [InlineData("FROM $BASE\n", "not a global ARG")]
    [InlineData("FROM busybox\nARG LATE=x\nFROM $LATE\n", "not a global ARG")]
    [InlineData("ARG B=busybox\nFROM ${B:-debian}\n", "only $NAME and ${NAME}")]
    [InlineData("ARG B=busybox\nFROM ${B:+evil}\n", "only $NAME and ${NAME}")]
    [InlineData("ARG B=busybox\nFROM ${B-evil}\n", "only $NAME and ${NAME}")]
    [InlineData("ARG B=busybox\nFROM ${B#bus}\n", "only $NAME and ${NAME}")]
    [InlineData("ARG B=busybox\nFROM ${B\n", "only $NAME and ${NAME}")]
    [InlineData("FROM busybox$\n", "only $NAME and ${NAME}")]
    [InlineData("FROM $1busybox\n", "only $NAME and ${NAME}")]
    [InlineData("ARG B=\"busybox\"\nFROM $B\n", "not a plain value")]
    [InlineData("ARG B=bus\\ybox\nFROM $B\n", "not a plain value")]
    [InlineData("ARG A=busybox\nARG B=$A\nFROM $B\n", "not a plain value")]
    [InlineData("FROM \"busybox\"\n", "quotes, escapes or unusual characters")]
    [InlineData("FROM busy\\box\n", "quotes, escapes or unusual characters")]
    [InlineData("FROM busyboxé\n", "quotes, escapes or unusual characters")]
    [InlineData("ARG E=\nFROM $E\n", "names an empty image")]
    [InlineData("FROM busybox AS\n", "FROM takes an image")]
    [InlineData("FROM busybox AT x\n", "FROM takes an image")]
    [InlineData("FROM busybox AS 1x\n", "not a valid stage name")]
    [InlineData("FROM busybox AS a\nFROM busybox AS A\n", "used twice")]
    public void ImageSources_FromThatCannotBeResolved_IsInvalidWithAReason(string text, string reason)
    {
        var source = Source(text);

        Assert.Equal(ImageSourceKind.Invalid, source.Kind);
        Assert.Contains(reason, source.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FROM busybox AS b\nFROM b\n", ImageSourceKind.Stage, "b")]
    [InlineData("FROM busybox AS Build\nFROM bUiLd\n", ImageSourceKind.Stage, "build")]
    [InlineData("ARG S=build\nFROM busybox AS build\nFROM $S\n", ImageSourceKind.Stage, "build")]
    [InlineData("FROM scratch\n", ImageSourceKind.Scratch, null)]
    [InlineData("FROM busybox AS scratch\nFROM scratch\n", ImageSourceKind.Stage, "scratch")]
    [InlineData("FROM busybox AS a\nFROM a AS a2\nCOPY --from=A /x /y\n", ImageSourceKind.Stage, "a")]
    [InlineData("FROM busybox AS a\nFROM busybox\nCOPY --from=0 /x /y\n", ImageSourceKind.Stage, "0")]
    [InlineData("FROM busybox AS a\nFROM busybox\nCOPY --from=00 /x /y\n", ImageSourceKind.Stage, "00")]
    [InlineData("FROM SCRATCH\n", ImageSourceKind.Invalid, null)]
    [InlineData("FROM busybox AS x\nCOPY --from=x /x /y\n", ImageSourceKind.Image, "docker.io/library/x:latest")]
    public void ImageSources_StagesAndScratch_ResolveAsTheBuilderResolvesThem(string text, ImageSourceKind kind, string? reference)
    {
        var source = Source(text);

        Assert.Equal(kind, source.Kind);
        if (reference is not null)
        {
            Assert.Equal(reference, source.Reference);
        }
    }

    [Fact]
    public void ImageSources_LaterStageName_IsAnImageForAnEarlierFrom()
    {
        var first = ImageSources.Of(DockerfileParser.Parse("FROM later AS x\nFROM busybox AS later\n"))[0];

        Assert.Equal((ImageSourceKind.Image, "docker.io/library/later:latest"), (first.Kind, first.Reference));
    }

    [Theory]
    [InlineData("FROM busybox\nCOPY --from=0 /x /y\n", "stage 0 is not an earlier stage")]
    [InlineData("FROM busybox\nFROM busybox\nCOPY --from=1 /x /y\n", "stage 1 is not an earlier stage")]
    [InlineData("FROM busybox\nCOPY --from= /x /y\n", "needs a value")]
    [InlineData("FROM busybox\nCOPY --from /x /y\n", "needs a value")]
    [InlineData("ARG S=busybox\nFROM busybox\nCOPY --from=$S /x /y\n", "does not expand variables")]
    [InlineData("FROM busybox\nCOPY --from=7c52 /x /y\n", "image ids are not accepted")]
    [InlineData("FROM busybox\nCOPY --from=99999999999999999999 /x /y\n", "image ids are not accepted")]
    [InlineData("FROM busybox\nCOPY --from=+0 /x /y\n", "not a valid image reference")]
    [InlineData("FROM busybox\nCOPY --from=berth-abc/job-x /x /y\n", "Berth job image")]
    public void ImageSources_CopyFromThatCannotBeResolved_IsInvalidWithAReason(string text, string reason)
    {
        var source = Source(text);

        Assert.Equal(ImageSourceKind.Invalid, source.Kind);
        Assert.Contains(reason, source.Problem, StringComparison.Ordinal);
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
