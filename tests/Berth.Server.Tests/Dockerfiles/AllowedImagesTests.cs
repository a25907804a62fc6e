using System.ComponentModel.DataAnnotations;
using Berth.Server.Configuration;
using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

public sealed class AllowedImagesTests
{
    [Theory]
    [InlineData("busybox", "docker.io/library/busybox:latest")]
    [InlineData("busybox:latest", "docker.io/library/busybox:latest")]
    [InlineData("library/busybox", "docker.io/library/busybox:latest")]
    [InlineData("docker.io/library/busybox:latest", "docker.io/library/busybox:latest")]
    [InlineData("index.docker.io/library/busybox", "docker.io/library/busybox:latest")]
    [InlineData("docker.io/busybox:1.36", "docker.io/library/busybox:1.36")]
    [InlineData("acme/tool:v1.2_3", "docker.io/acme/tool:v1.2_3")]
    [InlineData("localhost/tool", "localhost/tool:latest")]
    [InlineData("localhost:5000/a/b:c", "localhost:5000/a/b:c")]
    [InlineData("Registry.Example:443/x", "Registry.Example:443/x:latest")]
    [InlineData("a__b.c-d---e", "docker.io/library/a__b.c-d---e:latest")]
    [InlineData("busybox@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", "docker.io/library/busybox@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7")]
    [InlineData("busybox:1.36@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", "docker.io/library/busybox@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7")]
    public void TryNormalize_ValidReferences_NormalizeAsTheEngineDoes(string reference, string expected)
    {
        Assert.True(AllowedImages.TryNormalize(reference, out var normalized, out var error), error);
        Assert.Equal(expected, normalized);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("7c52", "image ids are not accepted")]
    [InlineData("ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", "image ids are not accepted")]
    [InlineData("sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", "image ids are not accepted")]
    [InlineData("sha256:abc", "image ids are not accepted")]
    [InlineData("12345678901234567890123", "image ids are not accepted")]
    [InlineData("Busybox", "not a valid image reference")]
    [InlineData("busybox:", "not a valid image reference")]
    [InlineData("busybox:-x", "not a valid image reference")]
    [InlineData("-busybox", "not a valid image reference")]
    [InlineData("busy box", "not a valid image reference")]
    [InlineData("busybox\u212A", "not a valid image reference")]
    [InlineData("[::1]:5000/x", "not a valid image reference")]
    [InlineData("busybox@sha256:AE39A6F5C07297D7AB64DBD4F82C77C874CC6A94CEA29FDEC309D0992574B4F7", "only sha256 digests")]
    [InlineData("busybox@sha512:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", "only sha256 digests")]
    [InlineData("berth-abc/job-x", "Berth job image")]
    [InlineData("docker.io/berth-abc/job-x:latest", "Berth job image")]
    [InlineData("localhost:5000/job-1", "Berth job image")]
    public void TryNormalize_BadReferences_AreRefusedWithAReason(string reference, string reason)
    {
        Assert.False(AllowedImages.TryNormalize(reference, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryNormalize_NameOver255Characters_IsRefused() =>
        Assert.False(AllowedImages.TryNormalize("a/" + new string('b', 254), out _, out _));

    [Fact]
    public void TryNormalize_PathologicalInput_StaysFast()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(AllowedImages.TryNormalize(new string('a', 20_000) + "!", out _, out _));
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Theory]
    [InlineData("busybox", true)]
    [InlineData("docker.io/library/busybox:latest", true)]
    [InlineData("busybox:1.36", false)]
    [InlineData("quay.io/library/busybox", false)]
    [InlineData("docker.io/library/busybox@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", false)]
    [InlineData("debian:bookworm-slim", true)]
    [InlineData("tools@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", true)]
    [InlineData("tools:1@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7", true)]
    [InlineData("tools@sha256:0000000000000000000000000000000000000000000000000000000000000000", false)]
    [InlineData("tools:latest", false)]
    public void Allows_MatchesNormalizedReferences(string reference, bool allowed)
    {
        var list = new AllowedImages(["busybox:latest", "debian:bookworm-slim", "tools@sha256:ae39a6f5c07297d7ab64dbd4f82c77c874cc6a94cea29fdec309d0992574b4f7"]);

        Assert.True(AllowedImages.TryNormalize(reference, out var normalized, out _));
        Assert.Equal(allowed, list.Allows(normalized));
    }

    [Theory]
    [InlineData("scratch")]
    [InlineData("7c52")]
    [InlineData("berth-x/job-1")]
    public void Constructor_BadEntry_Throws(string entry) =>
        Assert.Throws<ArgumentException>(() => new AllowedImages([entry]));

    [Fact]
    public void BuildOptions_Defaults_AllowTheSetUpImages()
    {
        var options = new BuildOptions();

        Assert.Equal(["busybox:latest", "debian:bookworm-slim"], options.EffectiveAllowedImages());
        Assert.Empty(Validate(options));
    }

    [Fact]
    public void BuildOptions_ConfiguredList_ReplacesTheDefaults()
    {
        var options = new BuildOptions { AllowedImages = ["alpine:3.20"] };

        Assert.Equal(["alpine:3.20"], options.EffectiveAllowedImages());
    }

    [Theory]
    [InlineData("7c52", "Build:AllowedImages:1 ('7c52'): '7c52' could be an image id")]
    [InlineData("scratch", "scratch is always allowed")]
    [InlineData("berth-i/job-1", "Berth job image")]
    [InlineData("", "empty")]
    [InlineData("Busybox", "not a valid image reference")]
    public void BuildOptions_BadAllowedImage_FailsValidation(string entry, string message)
    {
        var results = Validate(new BuildOptions { AllowedImages = ["busybox", entry] });

        Assert.Contains(results, r => r.ErrorMessage!.Contains(message, StringComparison.Ordinal));
    }

    private static List<ValidationResult> Validate(object options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return results;
    }
}
