import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.reflect.Method;

/**
 * Spark 4's executor memory overhead, as its YARN and Kubernetes backends size a container.
 * Reads cases from stdin, one a line: the heap in MiB, then Spark confs as key=value, separated
 * by spaces; prints one overhead (MiB) a line. For each it reads spark.executor.memoryOverhead,
 * spark.executor.minMemoryOverhead and spark.executor.memoryOverheadFactor the way Spark does
 * (its own config entries, so its defaults and size parsing) and prints
 * ResourceProfile.calculateOverHeadMemory(overhead, minOverhead, heap, factor). Reflection
 * only, so that it compiles without Spark's jars; run it with a Spark 4 classpath.
 */
public class SparkOverhead {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        for (String line; (line = in.readLine()) != null; ) {
            System.out.println(overhead(line.trim().split(" ")));
        }
    }

    static Object overhead(String[] args) throws Exception {
        long heap = Long.parseLong(args[0]);
        Class<?> confClass = Class.forName("org.apache.spark.SparkConf");
        Object conf = confClass.getConstructor(boolean.class).newInstance(false);
        Method set = confClass.getMethod("set", String.class, String.class);
        for (int i = 1; i < args.length; i++) {
            String[] kv = args[i].split("=", 2);
            set.invoke(conf, kv[0], kv[1]);
        }
        Class<?> config = Class.forName("org.apache.spark.internal.config.package$");
        Object entries = config.getField("MODULE$").get(null);
        Method get = confClass.getMethod(
            "get", Class.forName("org.apache.spark.internal.config.ConfigEntry"));
        Object overhead = get.invoke(conf, config.getMethod("EXECUTOR_MEMORY_OVERHEAD").invoke(entries));
        Object min = get.invoke(conf, config.getMethod("EXECUTOR_MIN_MEMORY_OVERHEAD").invoke(entries));
        Object factor = get.invoke(conf, config.getMethod("EXECUTOR_MEMORY_OVERHEAD_FACTOR").invoke(entries));
        Class<?> profile = Class.forName("org.apache.spark.resource.ResourceProfile$");
        Method calculate = profile.getMethod("calculateOverHeadMemory",
            Class.forName("scala.Option"), long.class, long.class, double.class);
        return calculate.invoke(profile.getField("MODULE$").get(null), overhead,
            (Long) min, heap, (Double) factor);
    }
}
