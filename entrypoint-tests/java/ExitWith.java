/**
 * Exits with the code given, through {@code System.exit}: a real JVM's exit, as Spark's own
 * {@code System.exit(SparkExitCode.OOM)} (52) ends an executor.
 */
public class ExitWith {
    public static void main(String[] args) {
        System.exit(Integer.parseInt(args[0]));
    }
}
