import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;

/**
 * Runs Spark's own check of an executor's memory (`UnifiedMemoryManager.apply(conf, 1)`, which
 * refuses a JVM whose `Runtime.maxMemory()` is under 1.5 x 300 MiB) and prints `accepted` or
 * `refused: <Spark's message>`. Reflection keeps it compilable without Spark's jars.
 */
public class MinHeap {
    public static void main(String[] args) throws Exception {
        Class<?> confClass = Class.forName("org.apache.spark.SparkConf");
        Object conf = confClass.getConstructor(boolean.class).newInstance(false);
        Class<?> manager = Class.forName("org.apache.spark.memory.UnifiedMemoryManager$");
        Object module = manager.getField("MODULE$").get(null);
        Method apply = manager.getMethod("apply", confClass, int.class);
        System.out.println("maxMemory=" + Runtime.getRuntime().maxMemory());
        try {
            apply.invoke(module, conf, 1);
            System.out.println("accepted");
        } catch (InvocationTargetException e) {
            System.out.println("refused: " + e.getCause().getMessage());
        }
    }
}
