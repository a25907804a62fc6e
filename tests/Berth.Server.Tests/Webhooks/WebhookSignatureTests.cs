using System.Text;
using Berth.Server.Webhooks;

namespace Berth.Server.Tests.Webhooks;

public sealed class WebhookSignatureTests
{
    [Fact]
    public void Sign_Rfc4231TestCase2_IsTheKnownHmacInLowerHexWithPrefix()
    {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        var signature = WebhookSignature.Sign("what do ya want for nothing?"u8, "Jefe");

        Assert.Equal("sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", signature);
    }

    [Fact]
    public void Verify_SameBodyAndSecret_IsTrue()
    {
        var body = Encoding.UTF8.GetBytes("{\"id\":\"x\",\"status\":\"succeeded\"}");

        Assert.True(WebhookSignature.Verify(body, "a-secret-of-16+chars", WebhookSignature.Sign(body, "a-secret-of-16+chars")));
    }

    [Theory]
    [InlineData("{\"id\":\"x\",\"status\":\"failed\"}", "a-secret-of-16+chars")] // another body
    [InlineData("{\"id\":\"x\",\"status\":\"succeeded\"} ", "a-secret-of-16+chars")] // one byte more
    [InlineData("{\"id\":\"x\",\"status\":\"succeeded\"}", "another-secret-16+")] // another key
    public void Verify_BodyOrSecretChanged_IsFalse(string body, string secret)
    {
        var signed = WebhookSignature.Sign("{\"id\":\"x\",\"status\":\"succeeded\"}"u8, "a-secret-of-16+chars");

        Assert.False(WebhookSignature.Verify(Encoding.UTF8.GetBytes(body), secret, signed));
    }

    [Fact]
    public void Verify_MissingOrUpperCaseSignature_IsFalse()
    {
        var body = "{}"u8.ToArray();
        var signed = WebhookSignature.Sign(body, "a-secret-of-16+chars");

        Assert.False(WebhookSignature.Verify(body, "a-secret-of-16+chars", null));
        Assert.False(WebhookSignature.Verify(body, "a-secret-of-16+chars", signed.ToUpperInvariant()));
    }
}
