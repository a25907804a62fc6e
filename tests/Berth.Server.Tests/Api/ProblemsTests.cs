using Berth.Server.Api;
using Berth.Server.Errors;
using Microsoft.AspNetCore.Http;

namespace Berth.Server.Tests.Api;

/// <summary>Each kind of rejection reaches clients as one HTTP status and title; these pairs are the API's contract.</summary>
public sealed class ProblemsTests
{
    [Theory]
    [InlineData(Rejection.BadRequest, 400, "Invalid request")]
    [InlineData(Rejection.UnsupportedMediaType, 415, "Unsupported media type")]
    [InlineData(Rejection.TooLarge, 413, "Too large")]
    [InlineData(Rejection.Unprocessable, 422, "Invalid job")]
    [InlineData(Rejection.Conflict, 409, "Conflict")]
    [InlineData(Rejection.QueueFull, 503, "Queue full")]
    public void Rejected_EachKind_GivesItsStatusTitleAndDetail(Rejection kind, int status, string title)
    {
        var http = new DefaultHttpContext();

        var problem = Problems.Rejected(http, new RequestRejectedException(kind, "why it was refused")).ProblemDetails;

        Assert.Equal((status, title, "why it was refused"), (problem.Status, problem.Title, problem.Detail));
        Assert.False(problem.Extensions.ContainsKey("field"));
        Assert.Equal(kind == Rejection.QueueFull ? "5" : "", http.Response.Headers.RetryAfter.ToString());
    }

    [Fact]
    public void Of_EveryKind_HasAStatus() =>
        Assert.All(Enum.GetValues<Rejection>(), kind => Assert.InRange(Problems.Of(kind).Status, 400, 599));

    [Fact]
    public void Rejected_WithAField_NamesItInTheFieldExtension()
    {
        var problem = Problems.Rejected(new DefaultHttpContext(), new RequestRejectedException(Rejection.Unprocessable, "too big", "limits.memoryMb")).ProblemDetails;

        Assert.Equal("limits.memoryMb", problem.Extensions["field"]);
    }
}
