using Microsoft.Extensions.Options;

namespace Berth.Server.Configuration;

/// <summary>runsc needs a pids limit of at least 128 (its own processes use about 42).</summary>
internal sealed class RunscPidsValidation(IOptions<LimitsOptions> limits) : IValidateOptions<SandboxOptions>
{
    public ValidateOptionsResult Validate(string? name, SandboxOptions options) =>
        options.Runtime == "runsc" && limits.Value.PidsLimit < SandboxOptions.MinRunscPidsLimit
            ? ValidateOptionsResult.Fail($"Sandbox:Runtime=runsc needs Limits:PidsLimit of at least {SandboxOptions.MinRunscPidsLimit} (it is {limits.Value.PidsLimit}).")
            : ValidateOptionsResult.Success;
}
