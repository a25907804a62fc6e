using System.Security.Cryptography;
using System.Text;
using Berth.Server.Configuration;

namespace Berth.Server.Tests.Configuration;

public sealed class InstanceIdentityTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("berth-identity-").FullName;

    private string FilePath => Path.Combine(_root, InstanceIdentity.FileName);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void LoadOrCreate_EmptyRoot_WritesARandomIdAndSecretOnlyTheOwnerCanRead()
    {
        var identity = InstanceIdentity.LoadOrCreate(_root);

        Assert.Matches("^[0-9a-f]{12}$", identity.Id);
        Assert.Equal(32, identity.Secret.Length);
        Assert.Equal(InstanceIdentity.Format(identity.Id, identity.Secret), File.ReadAllText(FilePath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(FilePath));
        Assert.Equal([InstanceIdentity.FileName], Directory.GetFileSystemEntries(_root).Select(Path.GetFileName)); // no temp file left
    }

    [Fact]
    public void LoadOrCreate_Again_ReadsTheSameIdentity()
    {
        var first = InstanceIdentity.LoadOrCreate(_root);
        var second = InstanceIdentity.LoadOrCreate(_root);

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(first.Secret, second.Secret);
    }

    [Fact]
    public void LoadOrCreate_SamePathWithoutTheFile_GivesAnotherId()
    {
        // Two Berths whose data roots are the same text (two containers) must not share an id: it is not derived from the path.
        var first = InstanceIdentity.LoadOrCreate(_root);
        File.Delete(FilePath);

        Assert.NotEqual(first.Id, InstanceIdentity.LoadOrCreate(_root).Id);
    }

    [Fact]
    public async Task LoadOrCreate_ManyAtOnce_AllReadTheOneIdentityWritten()
    {
        using var start = new Barrier(16);
        var ids = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            return InstanceIdentity.LoadOrCreate(_root).Id;
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));

        Assert.Single(ids.Distinct());
        Assert.Equal(ids[0], InstanceIdentity.Parse(File.ReadAllText(FilePath), FilePath).Id);
        Assert.Single(Directory.GetFileSystemEntries(_root));
    }

    [Theory]
    [InlineData("")]
    [InlineData("id 0123456789ab\n")]
    [InlineData("id 0123456789AB\nsecret 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n")]
    [InlineData("id 0123456789a\nsecret 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n")]
    [InlineData("id 0123456789ab\nsecret 00112233445566778899aabbccddeeff00112233445566778899aabbccddee\n")]
    [InlineData("id 0123456789ab\r\nsecret 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\r\n")]
    [InlineData("id 0123456789ab\nsecret 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\nextra\n")]
    [InlineData("1a2b3c4d")]
    public void LoadOrCreate_MalformedFile_RefusesAndNeverReplacesIt(string content)
    {
        File.WriteAllText(FilePath, content);

        var e = Assert.Throws<InvalidDataException>(() => InstanceIdentity.LoadOrCreate(_root));

        Assert.Contains($"{FilePath} is malformed", e.Message, StringComparison.Ordinal);
        Assert.Contains("does not replace it", e.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(FilePath));
    }

    [Fact]
    public void LoadOrCreate_FileWithoutFinalNewline_IsAccepted()
    {
        File.WriteAllText(FilePath, "id 0123456789ab\nsecret 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");

        Assert.Equal("0123456789ab", InstanceIdentity.LoadOrCreate(_root).Id);
    }

    [Fact]
    public void CacheKeyFor_IsTheTruncatedHmacOfTheOwnerUnderTheSecret()
    {
        var identity = InstanceIdentity.LoadOrCreate(_root);

        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(identity.Secret, Encoding.UTF8.GetBytes("alice")))[..32];
        Assert.Equal(expected, identity.CacheKeyFor("alice"));
        Assert.Matches("^[0-9a-f]{32}$", identity.CacheKeyFor("alice"));
        Assert.NotEqual(identity.CacheKeyFor("alice"), identity.CacheKeyFor("bob"));
    }

    [Fact]
    public void CacheKeyFor_AnotherInstance_GivesAnotherKeyForTheSameOwner()
    {
        var other = Directory.CreateTempSubdirectory("berth-identity-").FullName;
        try
        {
            Assert.NotEqual(InstanceIdentity.LoadOrCreate(_root).CacheKeyFor("alice"), InstanceIdentity.LoadOrCreate(other).CacheKeyFor("alice"));
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Fact]
    public void Secret_ChangedByACaller_DoesNotChangeTheIdentity()
    {
        var identity = InstanceIdentity.LoadOrCreate(_root);
        var key = identity.CacheKeyFor("alice");

        identity.Secret[0] ^= 0xff;

        Assert.Equal(key, identity.CacheKeyFor("alice"));
    }
}
