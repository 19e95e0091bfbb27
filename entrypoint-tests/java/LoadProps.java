import java.io.FileInputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;
import java.util.TreeSet;

/**
 * Loads a properties file the way Spark loads spark-defaults.conf
 * (org.apache.spark.util.Utils.getPropertiesFromFile: a UTF-8 reader, values trimmed) and prints
 * `<hex key>=<hex value>` (UTF-8 bytes) a line, sorted by key; or `error <message>`. Given several
 * files, each one's lines follow a line `== <file>`, so one JVM can judge many generated inputs.
 */
public class LoadProps {
    public static void main(String[] args) throws Exception {
        for (String file : args) {
            if (args.length > 1) {
                System.out.println("== " + file);
            }
            load(file);
        }
    }

    static void load(String file) throws Exception {
        Properties props = new Properties();
        try (InputStreamReader in = new InputStreamReader(new FileInputStream(file), StandardCharsets.UTF_8)) {
            props.load(in);
        } catch (IllegalArgumentException e) {
            System.out.println("error " + e.getMessage());
            return;
        }
        for (String key : new TreeSet<>(props.stringPropertyNames())) {
            System.out.println(hex(key) + "=" + hex(props.getProperty(key).trim()));
        }
    }

    static String hex(String s) {
        StringBuilder out = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            out.append(String.format("%02x", b & 0xff));
        }
        return out.toString();
    }
}
