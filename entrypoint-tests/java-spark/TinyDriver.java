import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * A real Spark driver for the end-to-end executor test. Args: master URL, a folder to report
 * in, the number of executors to wait for, a free port for the driver, a free port for its UI
 * (and so its REST API). It writes
 * `<folder>/driver` ("<app id> <driver port>") once it runs, waits until that many executors
 * have registered on their own (spark-init's executors attach straight to it), runs a job with
 * one task per executor core, writes each task's report to `<folder>/tasks`, and stops.
 */
public class TinyDriver {
    public static void main(String[] args) throws Exception {
        String master = args[0];
        String folder = args[1];
        int executors = Integer.parseInt(args[2]);
        SparkConf conf = new SparkConf()
            .setMaster(master)
            .setAppName("spark-init-executor-test")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.driver.port", args[3])
            .set("spark.ui.port", args[4])
            // No worker will ever offer cores; executors register on their own.
            .set("spark.scheduler.minRegisteredResourcesRatio", "0");
        JavaSparkContext sc = new JavaSparkContext(conf);
        String report = sc.sc().applicationId() + " " + sc.getConf().get("spark.driver.port") + "\n";
        Files.write(Paths.get(folder, "driver.tmp"), report.getBytes(StandardCharsets.UTF_8));
        Files.move(Paths.get(folder, "driver.tmp"), Paths.get(folder, "driver"));

        long deadline = System.currentTimeMillis() + 300_000;
        while (sc.sc().getExecutorIds().size() < executors) {
            if (System.currentTimeMillis() > deadline) {
                throw new IllegalStateException("executors did not register");
            }
            Thread.sleep(100);
        }
        List<Integer> items = new ArrayList<>(Arrays.asList(1, 2, 3, 4));
        List<String> results = sc.parallelize(items, 4).map(i ->
            "task " + i
            + " executor=" + SparkEnv.get().executorId()
            + " file.encoding=" + System.getProperty("file.encoding")
            + " user.timezone=" + System.getProperty("user.timezone")
            + " marker=" + System.getProperty("spark_init.marker")
        ).collect();
        Files.write(Paths.get(folder, "tasks.tmp"),
            (String.join("\n", results) + "\n").getBytes(StandardCharsets.UTF_8));
        Files.move(Paths.get(folder, "tasks.tmp"), Paths.get(folder, "tasks"));
        sc.stop();
    }
}
