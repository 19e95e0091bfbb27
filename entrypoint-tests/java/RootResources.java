import java.io.File;
import java.util.Arrays;
import java.util.List;
import java.util.zip.ZipFile;

/**
 * Prints "<jar> <name>" for every jar in a folder (args[0]) that holds, at its root, a file
 * named by one of the other args: the resources a class loader would find there before a
 * directory that comes later on the classpath.
 */
public class RootResources {
    public static void main(String[] args) throws Exception {
        List<String> names = Arrays.asList(args).subList(1, args.length);
        File[] jars = new File(args[0]).listFiles((dir, name) -> name.endsWith(".jar"));
        for (File jar : jars) {
            try (ZipFile zip = new ZipFile(jar)) {
                for (String name : names) {
                    if (zip.getEntry(name) != null) {
                        System.out.println(jar.getName() + " " + name);
                    }
                }
            }
        }
        System.out.println("checked " + jars.length + " jars");
    }
}
