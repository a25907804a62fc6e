using System.ComponentModel.DataAnnotations;

namespace Berth.Server.Storage;

/// <summary>Where jobs are kept (section <c>Store</c>).</summary>
public sealed class StoreOptions : IValidatableObject
{
    public const string Section = "Store";

    /// <summary><c>sqlite</c> (default: one server, in-process workers) or <c>postgres</c> (any number of API servers, jobs run on agents).</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>Npgsql connection string, for <c>postgres</c>.</summary>
    public string? ConnectionString { get; set; }

    public bool IsPostgres => Provider == "postgres";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider is not ("sqlite" or "postgres"))
        {
            yield return new ValidationResult($"Store:Provider must be 'sqlite' or 'postgres', not '{Provider}'.");
        }
        if (IsPostgres && string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult("Store:ConnectionString is required with Store:Provider=postgres (Npgsql format, e.g. 'Host=/run/postgresql;Database=berth;Username=berth').");
        }
    }
}
