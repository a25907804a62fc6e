using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

public sealed class DockerfileParserTests
{
    [Fact]
    public void Parse_ContinuationsAndComments_JoinsLinesAndDropsComments()
    {
        var doc = DockerfileParser.Parse("""
            # a comment
            FROM busybox:1.36
            RUN echo one \
            # comment inside a continuation
                && echo two \

                && echo three
            CMD ["sh"]
            """);

        Assert.Empty(doc.Errors);
        Assert.Equal(["FROM", "RUN", "CMD"], doc.Instructions.Select(i => i.Keyword));
        var run = doc.Instructions[1];
        Assert.Equal(3, run.Line);
        Assert.Contains("echo one", run.Arguments, StringComparison.Ordinal);
        Assert.Contains("&& echo three", run.Arguments, StringComparison.Ordinal);
        Assert.DoesNotContain("comment", run.Arguments, StringComparison.Ordinal);
        Assert.Equal(8, doc.Instructions[2].Line);
    }

    [Fact]
    public void Parse_EscapeDirective_UsesBacktickForContinuation()
    {
        var doc = DockerfileParser.Parse("# escape=`\nFROM busybox:1\nRUN echo a `\n    b\n");

        Assert.Empty(doc.Errors);
        Assert.Equal("`", doc.Directives["escape"]);
        Assert.Equal("echo a     b", doc.Instructions[1].Arguments);
    }

    [Fact]
    public void Parse_DirectiveAfterComment_IsOnlyAComment()
    {
        var doc = DockerfileParser.Parse("# hello\n# escape=`\nFROM busybox:1\n");

        Assert.Empty(doc.Directives);
        Assert.Single(doc.Instructions);
    }

    [Fact]
    public void Parse_JsonForm_SetsExecForm_AndBrokenJsonFallsBackToShellForm()
    {
        var doc = DockerfileParser.Parse("FROM a:1\nCMD [\"sh\", \"-c\", \"echo hi\"]\nENTRYPOINT [not json\n");

        Assert.Equal(["sh", "-c", "echo hi"], doc.Instructions[1].ExecForm);
        Assert.Null(doc.Instructions[2].ExecForm);
        Assert.Equal("[not json", doc.Instructions[2].Arguments);
    }

    [Fact]
    public void Parse_Flags_AreSeparatedFromArguments()
    {
        var doc = DockerfileParser.Parse("FROM --platform=linux/amd64 a:1 AS build\nRUN --mount=type=cache,target=/c --network=none make\n");

        var from = doc.Instructions[0];
        Assert.Equal("linux/amd64", from.Flag("platform"));
        Assert.Equal("a:1 AS build", from.Arguments);
        var run = doc.Instructions[1];
        Assert.Equal(2, run.Flags.Count);
        Assert.Equal("none", run.Flag("network"));
        Assert.Equal("make", run.Arguments);
    }

    [Fact]
    public void Parse_Heredocs_ReadsBodiesUntilTerminator()
    {
        var doc = DockerfileParser.Parse("FROM a:1\nRUN <<EOF\necho one\necho two\nEOF\nCOPY <<-\"END\" /x\n\tline\n\tEND\nCMD [\"x\"]\n");

        Assert.Empty(doc.Errors);
        Assert.Equal(["FROM", "RUN", "COPY", "CMD"], doc.Instructions.Select(i => i.Keyword));
        Assert.Equal("echo one\necho two\n", doc.Instructions[1].Heredocs.Single().Content);
        Assert.Equal("line\n", doc.Instructions[2].Heredocs.Single().Content);
        Assert.Equal(9, doc.Instructions[3].Line);
    }

    [Fact]
    public void Parse_UnterminatedHeredoc_IsAnError()
    {
        var doc = DockerfileParser.Parse("FROM a:1\nRUN <<EOF\necho never ends\n");

        var error = Assert.Single(doc.Errors);
        Assert.Equal(2, error.Line);
        Assert.Contains("EOF", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("FROM a:1\nFROBNICATE x\n", 2, "unknown instruction 'FROBNICATE'")]
    [InlineData("FROM a:1\nRUN\n", 2, "RUN requires at least one argument")]
    [InlineData("FROM a:1\nSHELL /bin/sh -c\n", 2, "SHELL requires the JSON form")]
    [InlineData("# escape=x\nFROM a:1\n", 1, "invalid escape directive")]
    public void Parse_BadLines_AreReportedWithTheirLine(string text, int line, string message)
    {
        var error = Assert.Single(DockerfileParser.Parse(text).Errors);
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LowerCaseKeywordsAndCrLf_AreAccepted()
    {
        var doc = DockerfileParser.Parse("from a:1\r\nrun echo hi\r\n");

        Assert.Empty(doc.Errors);
        Assert.Equal(["FROM", "RUN"], doc.Instructions.Select(i => i.Keyword));
        Assert.Equal("echo hi", doc.Instructions[1].Arguments);
    }

    [Fact]
    public void Parse_RandomBytes_NeverThrows()
    {
        var random = new Random(42);
        for (var i = 0; i < 500; i++)
        {
            var chars = new char[random.Next(0, 300)];
            for (var j = 0; j < chars.Length; j++)
            {
                chars[j] = (char)random.Next(0, 128);
            }
            var doc = DockerfileParser.Parse(new string(chars));
            Assert.NotNull(doc);
        }
    }
}
