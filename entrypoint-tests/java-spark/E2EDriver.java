import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * The end-to-end test's Spark application, started by spark-submit (spark-init's driver role).
 * It stays up and runs a job each time the test asks: for each file `<dir>/run-<k>` holding a
 * number n, it waits until n executors are registered, runs 12 tasks, and writes one line per
 * task to `<dir>/result-<k>`: the executor's ID and what its JVM reports. It writes its
 * application ID to `<dir>/app-<pid>` when it starts.
 */
public class E2EDriver {
    public static void main(String[] args) throws Exception {
        Path dir = Paths.get(args[0]);
        JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("spark-init-e2e"));
        write(dir.resolve("app-" + ProcessHandle.current().pid()), sc.sc().applicationId() + "\n");
        while (true) {
            List<Path> runs = new ArrayList<>();
            try (var files = Files.list(dir)) {
                files.filter(p -> p.getFileName().toString().startsWith("run-")).forEach(runs::add);
            }
            for (Path run : runs) {
                String k = run.getFileName().toString().substring(4);
                Path result = dir.resolve("result-" + k);
                if (Files.exists(result)) {
                    continue;
                }
                int wanted = Integer.parseInt(Files.readString(run).trim());
                while (sc.sc().getExecutorIds().size() < wanted) {
                    Thread.sleep(100);
                }
                List<Integer> items = new ArrayList<>();
                for (int i = 0; i < 12; i++) {
                    items.add(i);
                }
                List<String> lines = sc.parallelize(items, 12).map(i -> {
                    Thread.sleep(200);
                    return "executor=" + SparkEnv.get().executorId()
                        + " file.encoding=" + System.getProperty("file.encoding")
                        + " user.timezone=" + System.getProperty("user.timezone")
                        + " marker=" + System.getProperty("spark_init.marker");
                }).collect();
                write(result, String.join("\n", lines) + "\n");
            }
            Thread.sleep(100);
        }
    }

    static void write(Path path, String text) throws Exception {
        Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
        Files.write(tmp, text.getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, path);
    }
}
