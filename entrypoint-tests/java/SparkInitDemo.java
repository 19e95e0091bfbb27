import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;

/** The demo's "Spark JVM": shows what JAVA_TOOL_OPTIONS gave it, then runs until stopped. */
public class SparkInitDemo {
    public static void main(String[] args) throws Exception {
        Runtime.getRuntime().addShutdownHook(new Thread(() ->
            System.out.println("demo JVM: shutdown hook ran (SIGTERM reached the JVM, not ignored)")));
        System.out.println("demo JVM: file.encoding       = " + System.getProperty("file.encoding"));
        System.out.println("demo JVM: user.timezone       = " + System.getProperty("user.timezone"));
        System.out.println("demo JVM: spark.demo.greeting = " + System.getProperty("spark.demo.greeting"));
        System.out.println("demo JVM: local time          = "
            + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        System.out.println("demo JVM: ready");
        System.out.flush();
        Thread.currentThread().join();
    }
}
