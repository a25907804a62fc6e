using Berth.Server.Dockerfiles;

namespace Berth.Server.Tests.Dockerfiles;

/// <summary>The parser must split a Dockerfile exactly as the engine's classic builder (buildkit v0.8 parser) does.</summary>
public sealed class DockerfileParserTests
{
    private static IReadOnlyList<string> Shapes(string text) =>
        DockerfileParser.Parse(text).Instructions.Select(i => $"{i.Keyword} {i.Arguments}").ToList();

    [Theory]
    // Continuations: escape then only spaces/tabs; the character before the escape is kept.
    [InlineData("RUN a \\\n  b\n", "RUN a   b")]
    [InlineData("RUN a\\  \t\nFROM evil\n", "RUN aFROM evil")]
    [InlineData("RUN a \\\n# comment \\\n  b\n", "RUN a   b")]
    [InlineData("RUN a \\\n   # indented comment\nb\n", "RUN a b")]
    [InlineData("RUN a \\\n\n  \t \nb\n", "RUN a b")]
    [InlineData("\\\nFROM busybox\n", "FROM busybox")]
    [InlineData("RUN a \\\r\n b\r\n", "RUN a  b")]
    // Not continuations: other whitespace after the escape, or an escaped escape.
    [InlineData("RUN a \\\f\nFROM evil\n", "RUN a \\|FROM evil")]
    [InlineData("RUN a \\\u00a0\nFROM evil\n", "RUN a \\|FROM evil")]
    [InlineData("ENV C x\\\\\nENV D y\n", "ENV C x\\\\|ENV D y")]
    [InlineData("RUN a \\\r\r\nFROM evil\n", "RUN a \\|FROM evil")]
    // Keyword split at [ \t\v\f\r], any case; leading whitespace dropped.
    [InlineData("  \tfRoM busybox\n", "FROM busybox")]
    [InlineData("RUN\vecho hi\n", "RUN echo hi")]
    [InlineData("\uFEFFFROM busybox\n", "FROM busybox")]
    public void Parse_LinesAndContinuations_JoinAsTheClassicBuilderDoes(string text, string expected) =>
        Assert.Equal(expected.Split('|'), Shapes(text));

    [Fact]
    public void Parse_Lines_RecordStartAndEndLines()
    {
        var doc = DockerfileParser.Parse("# c\nFROM busybox \\\n  AS a\n\nRUN x \\\n\n# c\n  y\nCMD z\n");

        Assert.Equal([(2, 3), (5, 8), (9, 9)], doc.Instructions.Select(i => (i.Line, i.EndLine)));
    }

    [Theory]
    [InlineData("FROM busybox \\", 1, '\\')]
    [InlineData("FROM busybox\nRUN a \\\n\n# c\n", 2, '\\')]
    [InlineData("# escape=`\nFROM busybox `", 2, '`')]
    public void Parse_FileEndingInsideAContinuation_IsAnError(string text, int line, char escape)
    {
        var doc = DockerfileParser.Parse(text);

        var error = Assert.Single(doc.Errors);
        Assert.Equal(line, error.Line);
        Assert.Contains($"ends the file inside a line continuation (its last line ends with '{escape}')", error.Message, StringComparison.Ordinal);
        Assert.Equal(line, doc.Instructions[^1].Line);
    }

    [Theory]
    [InlineData("# escape=`\nRUN a `\n b\n", '`', "RUN a  b")]
    [InlineData("#ESCAPE = ` \nRUN a `\n b\n", '`', "RUN a  b")]
    [InlineData("\uFEFF  # escape=`\nRUN a \\\nRUN b\n", '`', "RUN a \\|RUN b")]
    [InlineData("# syntax=x\n# escape=`\nRUN a `\n b\n", '`', "RUN a  b")]
    [InlineData("# escape=\nRUN a \\\n b\n", '\\', "RUN a  b")]
    public void Parse_EscapeDirective_SetsTheContinuationCharacter(string text, char escape, string expected)
    {
        var doc = DockerfileParser.Parse(text);

        Assert.Equal(escape, doc.Escape);
        Assert.Equal(expected.Split('|'), Shapes(text));
    }

    [Theory]
    [InlineData("# hello\n# escape=`\nFROM busybox\n")]
    [InlineData("\n# escape=`\nFROM busybox\n")]
    [InlineData("# check=skip=all\n# escape=`\nFROM busybox\n")]
    [InlineData("# escape-x=1\n# syntax=y\nFROM busybox\n")]
    public void Parse_DirectiveAfterAnythingElse_IsNotHonouredAndIsAnError(string text)
    {
        var doc = DockerfileParser.Parse(text);

        Assert.Equal('\\', doc.Escape);
        Assert.Empty(doc.Directives);
        Assert.Contains(doc.Errors, e => e.Message.Contains("looks like a parser directive", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_CheckDirective_IsAcceptedAsAComment()
    {
        var doc = DockerfileParser.Parse("# check=skip=all\nFROM busybox\n");

        Assert.Empty(doc.Errors);
        Assert.Empty(doc.Directives);
    }

    [Theory]
    [InlineData("FROM a:1 AS b\nRUN <<EOF\necho one\nEOF\n", "FROM|RUN")]
    [InlineData("FROM a:1\nRUN <<EOF\nFROM 127.0.0.1:5000/evil AS \\\nEOF\n", "FROM|RUN|FROM")]
    [InlineData("FROM a:1\nCOPY <<-\"END\" /x\n\tADD http://evil/x /y\n\tEND\n", "FROM|COPY|ADD")]
    public void Parse_HereDocuments_AreNotConsumed_TheirLinesAreInstructions(string text, string keywords)
    {
        var doc = DockerfileParser.Parse(text);

        Assert.Equal(keywords.Split('|'), doc.Instructions.Select(i => i.Keyword));
    }

    [Fact]
    public void Parse_HeredocSmuggledFrom_IsAFromWithAStageName()
    {
        var from = DockerfileParser.Parse("FROM a:1\nRUN <<EOF\nFROM 127.0.0.1:5000/evil AS \\\nEOF\n").Instructions[2];

        Assert.Equal("127.0.0.1:5000/evil AS EOF", from.Arguments);
        Assert.Equal((3, 4), (from.Line, from.EndLine));
    }

    [Theory]
    [InlineData("COPY --from=\"bu\"sybox a b", "from", "busybox")]
    [InlineData("COPY --from=busy\\box a b", "from", "busybox")]
    [InlineData("COPY --from='a b' x y", "from", "a b")]
    [InlineData("FROM --platform=linux/amd64 a:1 AS build", "platform", "linux/amd64")]
    [InlineData("RUN --mount=type=cache,target=/c make", "mount", "type=cache,target=/c")]
    public void Parse_Flags_AreReadAsTheBuilderReadsThem(string line, string flag, string value)
    {
        var instruction = Assert.Single(DockerfileParser.Parse(line).Instructions);

        Assert.Equal(value, instruction.Flag(flag));
    }

    [Fact]
    public void Parse_Flags_AreCaseSensitive_AndADoubleDashEndsThem()
    {
        var copy = Assert.Single(DockerfileParser.Parse("COPY --FROM=x -- --from=y z").Instructions);

        Assert.Null(copy.Flag("from"));
        Assert.Equal("x", copy.Flag("FROM"));
        Assert.Equal(["--from=y", "z"], copy.Words);
    }

    [Fact]
    public void Parse_NonAsciiFlag_IsAnError()
    {
        var doc = DockerfileParser.Parse("FROM a:1\nCOPY --from=busyboxà a b\n");

        Assert.Contains(doc.Errors, e => e.Line == 2 && e.Message.Contains("non-ASCII", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("CMD [\"sh\", \"-c\", \"echo hi\"]", "sh|-c|echo hi")]
    [InlineData("CMD [\"a\"] trailing words", "a")]
    [InlineData("ADD [\"http:\\u002f/evil/x\", \"/y\"]", "http://evil/x|/y")]
    public void Parse_JsonForm_ReadsTheFirstJsonValue(string line, string items) =>
        Assert.Equal(items.Split('|'), Assert.Single(DockerfileParser.Parse(line).Instructions).ExecForm);

    [Theory]
    [InlineData("ENTRYPOINT [not json")]
    [InlineData("RUN [\"a\",]")]
    public void Parse_BrokenJson_IsShellForm(string line)
    {
        var instruction = Assert.Single(DockerfileParser.Parse(line).Instructions);

        Assert.Null(instruction.ExecForm);
    }

    [Theory]
    [InlineData("FROM a:1\nFROBNICATE x\n", 2, "unknown instruction 'FROBNICATE'")]
    [InlineData("FROM a:1\nRUN\n", 2, "RUN requires at least one argument")]
    [InlineData("FROM a:1\nRUN --network=none\n", 2, "RUN requires at least one argument")]
    [InlineData("FROM a:1\nSHELL /bin/sh -c\n", 2, "SHELL requires the JSON form")]
    [InlineData("FROM a:1\nCMD [1, \"x\"]\n", 2, "the JSON array must hold only strings")]
    [InlineData("FROM a:1\nCOPY onlyone\n", 2, "COPY requires a source and a destination")]
    [InlineData("FROM a:1\nRUN\u00a0echo\n", 2, "unknown instruction")]
    [InlineData("FROM a:1\nRUNſ x\n", 2, "unknown instruction")]
    [InlineData("# escape=x\nFROM a:1\n", 1, "invalid escape directive")]
    [InlineData("# escape=`\n# escape=\\\nFROM a:1\n", 2, "'escape' is given more than once")]
    public void Parse_BadLines_AreReportedWithTheirLine(string text, int line, string message)
    {
        var error = Assert.Single(DockerfileParser.Parse(text).Errors);
        Assert.Equal(line, error.Line);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LongLines_AreSizeLimitErrors()
    {
        var longLine = "RUN echo " + new string('a', DockerfileLimits.MaxLineBytes);
        var longInstruction = "RUN " + string.Concat(Enumerable.Repeat(new string('b', 8000) + " \\\n", 9)) + "end";

        var errors = DockerfileParser.Parse($"FROM a:1\n{longLine}\n{longInstruction}\n").Errors;

        Assert.Equal([(2, ParseError.SizeLimit), (3, ParseError.SizeLimit)], errors.Select(e => (e.Line, e.Rule)));
    }

    [Fact]
    public void Parse_ManyBadLines_ReportsAtMostTheLimitPlusACount()
    {
        var errors = DockerfileParser.Parse(string.Concat(Enumerable.Repeat("bogus\n", 500))).Errors;

        Assert.Equal(DockerfileLimits.MaxParseErrors + 1, errors.Count);
        Assert.Contains("450 more parse error(s)", errors[^1].Message, StringComparison.Ordinal);
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
